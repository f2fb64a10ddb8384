// The demo page: controls on the main thread, rendering in worker.js. At most one render is in
// flight; while it runs, only the newest request waits (dragging a slider never queues up work).
// The canvas describes its layout in data-* attributes (scale, pad, cols, count, render), so a
// test or a tool can read the images back from its pixels.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const isolated = typeof crossOriginIsolated !== "undefined" && crossOriginIsolated;
const cores = navigator.hardwareConcurrency || 1;
const requestedThreads = Number.parseInt(params.get("threads") ?? "", 10);
const threads = isolated ? (requestedThreads > 0 ? requestedThreads : Math.min(4, cores)) : 1;

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map();
worker.onmessage = ({ data }) => {
  const entry = pending.get(data.id);
  pending.delete(data.id);
  if (data.ok) entry.resolve(data);
  else entry.reject(new Error(data.error));
};
worker.onerror = (event) => showError(`the worker failed: ${event.message}`);
function call(op, args = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args });
  });
}

let manifest = null;
let renders = 0;
let inFlight = false;
let queued = false;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function setStatus(status) {
  document.body.dataset.status = status;
}

function view() {
  return document.querySelector("input[name=view]:checked").value;
}

function seedValue(id) {
  const text = $(id).value.trim();
  if (!/^\d+$/.test(text) || BigInt(text) >= 1n << 63n) throw new Error(`${id === "seed" ? "seed" : "seed B"} must be an integer in [0, 2^63)`);
  return text; // decimal string: BigInt-safe across postMessage
}

function labelValue() {
  return manifest.num_classes ? Number($("label").value) : undefined;
}

function request() {
  if (!manifest) return;
  if (inFlight) {
    queued = true;
    return;
  }
  inFlight = true;
  setStatus("busy");
  render().catch((e) => showError(e.message)).finally(() => {
    inFlight = false;
    if (queued) {
      queued = false;
      request();
    } else setStatus("ready");
  });
}

async function render() {
  const truncation = Number($("truncation").value);
  const labels = labelValue();
  const mode = view();
  let reply, cols, caption;
  const seed = seedValue("seed");
  if (mode === "grid") {
    cols = Number($("grid-size").value);
    const start = BigInt(seed);
    const count = cols * cols;
    if (start + BigInt(count) > 1n << 63n) throw new Error("the grid's seeds would leave [0, 2^63)");
    const seeds = Array.from({ length: count }, (_, i) => String(start + BigInt(i)));
    reply = await call("sample", { seeds, truncation, labels });
    caption = `seeds ${seed}…${start + BigInt(count - 1)}`;
  } else if (mode === "interp") {
    cols = 1;
    const t = Number($("t").value);
    const seedB = seedValue("seed-b");
    reply = await call("interpolate", { a: seed, b: seedB, ts: [t], mode: $("mode").value, truncation, labels });
    caption = `${$("mode").value}(seed ${seed}, seed ${seedB}, t = ${t.toFixed(2)})`;
  } else {
    cols = 1;
    reply = await call("sample", { seeds: [seed], truncation, labels });
    caption = `seed ${seed}`;
  }
  if (truncation !== 1) caption += `, ψ = ${truncation.toFixed(2)}`;
  if (labels !== undefined) caption += `, class ${$("label").selectedOptions[0].textContent}`;
  draw(reply, cols);
  showError("");
  const { n, totalMs } = reply.timing;
  $("status").textContent = `${n} image${n > 1 ? "s" : ""} in ${totalMs.toFixed(1)} ms: ${(totalMs / n).toFixed(2)} ms/image`;
  $("caption").textContent = caption;
}

// Nearest-neighbour upscale of each image onto the visible canvas, in a cols x rows grid.
function draw({ width, height, buffers }, cols) {
  const canvas = $("canvas");
  const rows = Math.ceil(buffers.length / cols);
  const target = cols === 1 ? 320 : 512;
  const scale = Math.max(1, Math.floor(target / (cols * Math.max(width, height))));
  const pad = cols === 1 ? 0 : 2;
  canvas.width = cols * width * scale + (cols - 1) * pad;
  canvas.height = rows * height * scale + (rows - 1) * pad;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const tile = new OffscreenCanvas(width, height);
  const tileCtx = tile.getContext("2d");
  buffers.forEach((buffer, i) => {
    tileCtx.putImageData(new ImageData(new Uint8ClampedArray(buffer), width, height), 0, 0);
    const x = (i % cols) * (width * scale + pad), y = Math.floor(i / cols) * (height * scale + pad);
    ctx.drawImage(tile, 0, 0, width, height, x, y, width * scale, height * scale);
  });
  Object.assign(canvas.dataset, { scale, pad, cols, count: buffers.length, width, height, render: ++renders });
}

function setupControls() {
  const syncView = () => {
    $("grid-row").hidden = view() !== "grid";
    $("interp-rows").hidden = view() !== "interp";
    request();
  };
  document.querySelectorAll("input[name=view]").forEach((el) => el.addEventListener("change", syncView));
  $("seed").addEventListener("input", request);
  $("seed-b").addEventListener("input", request);
  $("grid-size").addEventListener("change", request);
  $("mode").addEventListener("change", request);
  $("label").addEventListener("change", request);
  $("random").addEventListener("click", () => {
    $("seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    request();
  });
  $("truncation").addEventListener("input", () => {
    $("truncation-out").textContent = Number($("truncation").value).toFixed(2);
    request();
  });
  $("t").addEventListener("input", () => {
    $("t-out").textContent = Number($("t").value).toFixed(2);
    request();
  });
  $("measure").addEventListener("click", async () => {
    $("measure").disabled = true;
    $("status").textContent = "measuring…";
    try {
      const r = await call("bench", { batch: 16, repeats: 20, labels: labelValue() });
      $("status").textContent = `${r.medianMs.toFixed(3)} ms/image (median of ${r.repeats} batches of ${r.batch}; best ${r.minMs.toFixed(3)})`;
    } catch (e) {
      showError(e.message);
    } finally {
      $("measure").disabled = false;
    }
  });
  for (const [key, id] of [["seed", "seed"], ["seed_b", "seed-b"], ["truncation", "truncation"], ["t", "t"]]) {
    if (params.has(key)) $(id).value = params.get(key);
  }
  const v = params.get("view");
  if (v && $(`view-${v}`)) $(`view-${v}`).checked = true;
  $("truncation-out").textContent = Number($("truncation").value).toFixed(2);
  $("t-out").textContent = Number($("t").value).toFixed(2);
  $("grid-row").hidden = view() !== "grid";
  $("interp-rows").hidden = view() !== "interp";
}

function describe(info) {
  const m = info.manifest;
  const [c, h, w] = m.image_shape;
  const classes = m.num_classes ? `, ${m.num_classes} classes` : "";
  $("model-info").textContent = `${m.arch} ${w}×${h}${c === 1 ? " grey" : ""}${classes}, latent ${m.latent_dim}, ` +
    `${m.precision ?? "fp32"} · onnxruntime-web ${info.ortVersion}, wasm, ${info.threads} thread${info.threads > 1 ? "s" : ""}`;
  if (!info.isolated) {
    $("threads-note").hidden = false;
  }
  if (m.num_classes) {
    const select = $("label");
    for (let k = 0; k < m.num_classes; k++) select.add(new Option(m.class_names?.[k] ?? `class ${k}`, String(k)));
    if (params.has("label")) select.value = params.get("label");
    $("class-row").hidden = false;
  }
}

async function main() {
  setupControls();
  try {
    const info = await call("load", { url: new URL("model.onnx", location.href).href, threads });
    manifest = info.manifest;
    describe(info);
    setStatus("ready");
    request();
  } catch (e) {
    setStatus("error");
    showError(`cannot load the model: ${e.message}`);
  }
}

// For tools and tests: the same calls the controls make.
window.ganedgeDemo = { call, request, get renders() { return renders; } };
main();
