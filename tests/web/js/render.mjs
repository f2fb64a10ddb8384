// node render.mjs NODE_MODULES RUNTIME GANEDGE_JS MODEL SPEC OUT
// Renders images through ganedge.js with RUNTIME = "node" (onnxruntime-node) or "web"
// (onnxruntime-web's WebAssembly build running in Node) and writes them as raw uint8 NHWC.
// SPEC (JSON): {"seeds": ["0", ...], "truncation": 1, "labels": null | int | [ints]}.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, runtime, ganedgeJs, model, specFile, out] = process.argv.slice(2);
const ort = runtime === "node"
  ? createRequire(join(nodeModules, "noop.js"))("onnxruntime-node")
  : await import(pathToFileURL(join(nodeModules, "onnxruntime-web", "dist", "ort.node.min.mjs")).href);
if (runtime === "web") ort.env.wasm.numThreads = 1;
const { load } = await import(pathToFileURL(ganedgeJs).href);
const spec = JSON.parse(readFileSync(specFile, "utf8"));
const g = await load(model, { ort, executionProviders: runtime === "node" ? ["cpu"] : ["wasm"] });
const images = await g.sampleSeeds(spec.seeds, { truncation: spec.truncation ?? 1, labels: spec.labels ?? undefined, format: "nhwc" });
writeFileSync(out, images);
console.log(JSON.stringify({ n: spec.seeds.length, ms: g.lastTiming.totalMs }));
