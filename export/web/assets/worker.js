// The demo's renderer: loads the model and samples in this Web Worker, so a long batch never
// blocks the page. Messages in: {id, op: "load" | "sample" | "interpolate" | "bench", ...};
// out: {id, ok: true, ...} or {id, ok: false, error}. Images travel as RGBA ArrayBuffers (transferred).
import { load } from "./ganedge.js";

let generator = null;

const ops = {
  async load({ url, threads }) {
    generator = await load(url, { threads });
    const ort = generator.ort;
    return {
      manifest: generator.manifest,
      ortVersion: ort.env?.versions?.web ?? ort.env?.versions?.common ?? "?",
      threads: ort.env?.wasm?.numThreads ?? 1,
      isolated: typeof crossOriginIsolated !== "undefined" && crossOriginIsolated,
    };
  },

  async sample({ seeds, truncation, labels }) {
    const images = await generator.sampleSeeds(seeds, { truncation, labels });
    return pack(images);
  },

  async interpolate({ a, b, ts, mode, truncation, labels }) {
    const images = await generator.interpolate(a, b, ts, { mode, truncation, labels });
    return pack(images);
  },

  // ms/image over `repeats` batches of `batch` seeds (after one warm-up batch): median and best.
  async bench({ batch, repeats, labels }) {
    const per = [];
    const label = generator.manifest.num_classes ? (labels ?? 0) : undefined;
    await generator.sample(batch, { seed: 1000, labels: label });
    for (let r = 0; r < repeats; r++) {
      await generator.sample(batch, { seed: 1000 + r * batch, labels: label });
      per.push(generator.lastTiming.totalMs / batch);
    }
    per.sort((x, y) => x - y);
    return { batch, repeats, medianMs: per[per.length >> 1], minMs: per[0] };
  },
};

function pack(images) {
  const buffers = images.map((im) => im.data.buffer);
  return [{ width: images[0]?.width ?? 0, height: images[0]?.height ?? 0, buffers, timing: generator.lastTiming }, buffers];
}

self.onmessage = async ({ data }) => {
  const { id, op, ...args } = data;
  try {
    if (!ops[op]) throw new Error(`unknown op ${op}`);
    if (op !== "load" && !generator) throw new Error("the model is not loaded yet");
    const result = await ops[op](args);
    const [payload, transfer] = Array.isArray(result) ? result : [result, []];
    self.postMessage({ id, ok: true, ...payload }, transfer);
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.message ?? error) });
  }
};
