// ganedge.js: sample a ganedge ONNX export in a web page (onnxruntime-web) or in Node, seed-exact.
//
//   import { load } from "./ganedge.js";
//   const g = await load("model.onnx");                 // reads the manifest from the ONNX metadata
//   const images = await g.sample(16, { seed: 0 });      // ImageData[] (RGBA), seeds 0..15
//   const nhwc = await g.sample(4, { seed: 42, format: "nhwc" });   // Uint8ClampedArray (n*H*W*C)
//
// Seed -> latent -> uint8 is a port of ganedge's Python (ganedge/latents.py, ganedge/images.py):
// the same seed gives the same latent bits here, and the same image within one uint8 level
// (the runtimes' float arithmetic may differ in the last bits). No dependencies: onnxruntime
// is imported from ./ort/ beside this file unless `load(..., { ort })` passes one
// (e.g. onnxruntime-node).

export const MAX_SEED = 1n << 63n; // seeds live in [0, 2**63)

export class GanEdgeError extends Error {
  constructor(message) {
    super(message);
    this.name = "GanEdgeError";
  }
}

// ---------------------------------------------------------------------------------------------
// 64-bit unsigned arithmetic on (hi, lo) uint32 pairs: faster than BigInt for the hot loop.
// Results come back in the module-level registers H and L.

let H = 0;
let L = 0;

function mul64(ah, al, bh, bl) {
  // (ah*2^32 + al) * (bh*2^32 + bl) mod 2^64 = al*bl + ((ah*bl + al*bh) mod 2^32) * 2^32
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a1 * b0 + a0 * b1; // < 2^33, exact in a double
  const t = a0 * b0 + (mid & 0xffff) * 65536; // < 2^33
  L = t >>> 0;
  const carry = (t - L) / 4294967296;
  H = (a1 * b1 + Math.floor(mid / 65536) + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

function add64(ah, al, bh, bl) {
  const lo = al + bl;
  L = lo >>> 0;
  H = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

// SplitMix64's output function on (h, l).
function mix64(h, l) {
  l = (l ^ ((l >>> 30) | (h << 2))) >>> 0; // x ^= x >> 30
  h = (h ^ (h >>> 30)) >>> 0;
  mul64(h, l, 0xbf58476d, 0x1ce4e5b9);
  l = (L ^ ((L >>> 27) | (H << 5))) >>> 0; // x ^= x >> 27
  h = (H ^ (H >>> 27)) >>> 0;
  mul64(h, l, 0x94d049bb, 0x133111eb);
  L = (L ^ ((L >>> 31) | (H << 1))) >>> 0; // x ^= x >> 31
  H = (H ^ (H >>> 31)) >>> 0;
}

const GOLDEN_HI = 0x9e3779b9, GOLDEN_LO = 0x7f4a7c15;
const SALT_HI = 0x6a09e667, SALT_LO = 0xf3bcc909; // keeps seed 0's key away from 0

/** A seed (number, bigint or decimal string) as a BigInt in [0, 2**63); throws otherwise. */
export function checkSeed(seed) {
  let s;
  if (typeof seed === "bigint") s = seed;
  else if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) {
      throw new GanEdgeError(`seed ${seed} is not a safe integer: pass seeds above 2**53 as BigInt or a string`);
    }
    s = BigInt(seed);
  } else if (typeof seed === "string" && /^\s*\d+\s*$/.test(seed)) s = BigInt(seed.trim());
  else throw new GanEdgeError(`seeds must be integers in [0, 2**63), got ${String(seed)}`);
  if (s < 0n || s >= MAX_SEED) throw new GanEdgeError(`seed ${s} is outside [0, 2**63)`);
  return s;
}

/** Seeds start, start+1, ..., start+n-1 as BigInts, validated like ganedge.latents.seed_range. */
export function seedRange(start, n) {
  const s = checkSeed(start);
  if (!Number.isSafeInteger(n) || n < 0) throw new GanEdgeError(`n must be a non-negative integer, got ${n}`);
  if (s + BigInt(n) > MAX_SEED) throw new GanEdgeError(`seeds ${s}..${s + BigInt(n) - 1n} leave [0, 2**63)`);
  return Array.from({ length: n }, (_, i) => s + BigInt(i));
}

const TWO_PI_F32 = Math.fround(2 * Math.PI); // numpy: np.float32(2.0 * np.pi)
const INV_2_23 = 1 / 8388608;

/**
 * Standard-normal float32 latents, one row of `dim` per seed (row-major Float32Array), equal bit
 * for bit to ganedge.latents(seeds, dim). Per seed: key = mix64(seed * golden + salt); pair j
 * hashes key + (j+1) * golden; the high word's top 23 bits give the Box-Muller radius, the low
 * word's the angle; cosines fill the first half of the row, sines the second. Every float32
 * step of numpy is a Math.fround here; log/sin/cos are the float32 nearest to the exact value
 * (what ganedge.exactmath computes in Python), which Math.fround(Math.log(x)) etc. give for
 * these inputs: see docs/web.md.
 */
export function latents(seeds, dim, out) {
  if (!Number.isInteger(dim) || dim < 1) throw new GanEdgeError(`latent dim must be a positive integer, got ${dim}`);
  const list = Array.from(seeds, checkSeed);
  const half = (dim + 1) >> 1;
  const z = out ?? new Float32Array(list.length * dim);
  if (z.length !== list.length * dim) throw new GanEdgeError(`out must hold ${list.length * dim} floats`);
  // counters (j + 1) * golden mod 2^64, shared by every seed
  const ch = new Uint32Array(half), cl = new Uint32Array(half);
  let h = 0, l = 0;
  for (let j = 0; j < half; j++) {
    add64(h, l, GOLDEN_HI, GOLDEN_LO);
    ch[j] = h = H;
    cl[j] = l = L;
  }
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    mul64(Number(s >> 32n), Number(s & 0xffffffffn), GOLDEN_HI, GOLDEN_LO);
    add64(H, L, SALT_HI, SALT_LO);
    mix64(H, L);
    const kh = H, kl = L, row = i * dim;
    for (let j = 0; j < half; j++) {
      add64(kh, kl, ch[j], cl[j]);
      mix64(H, L);
      const r = 2 - (1 + (H >>> 9) * INV_2_23); // (0, 1], exact
      const radius = Math.fround(Math.sqrt(Math.fround(Math.log(r)) * -2));
      const theta = Math.fround(((1 + (L >>> 9) * INV_2_23) - 1.5) * TWO_PI_F32);
      z[row + j] = Math.fround(Math.fround(Math.cos(theta)) * radius);
      if (half + j < dim) z[row + half + j] = Math.fround(Math.fround(Math.sin(theta)) * radius);
    }
  }
  return z;
}

/**
 * Spherical interpolation between latents a and b (Float32Arrays of one length) at t in [0, 1]:
 * omega = acos(clamp(a.b / (|a| |b|), -1, 1)); z = sin((1-t) omega)/sin(omega) a + sin(t omega)/sin(omega) b,
 * sums and coefficients in float64, each element rounded to float32 once. Falls back to the
 * straight line (1-t) a + t b when sin(omega) < 1e-6 (a, b nearly parallel or opposite, or zero).
 * t = 0 and t = 1 give a and b exactly. mode "lerp" always takes the straight line.
 */
export function slerp(a, b, t, mode = "slerp", out) {
  if (a.length !== b.length) throw new GanEdgeError(`cannot interpolate latents of lengths ${a.length} and ${b.length}`);
  if (!(t >= 0 && t <= 1)) throw new GanEdgeError(`t must be in [0, 1], got ${t}`);
  if (mode !== "slerp" && mode !== "lerp") throw new GanEdgeError(`mode must be "slerp" or "lerp", got ${mode}`);
  const z = out ?? new Float32Array(a.length);
  let ca = 1 - t, cb = t;
  if (mode === "slerp") {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
    const omega = Math.acos(cos);
    const so = Math.sin(omega);
    if (so >= 1e-6) { // NaN (a zero vector) fails this test too and keeps the straight line
      ca = Math.sin((1 - t) * omega) / so;
      cb = Math.sin(t * omega) / so;
    }
  }
  for (let i = 0; i < a.length; i++) z[i] = Math.fround(ca * a[i] + cb * b[i]);
  return z;
}

/**
 * float32 images in the manifest's output range [lo, hi] -> uint8, as ganedge.images does:
 * u8 = clip(floor(f32(f32(x * scale) + offset)), 0, 255) with scale = f32(255 / (hi - lo)) and
 * offset = f32(0.5 - lo * s) with s = 255 / (hi - lo) in float64, as ganedge.images.uint8_affine computes it.
 * For [-1, 1] that is floor(x * 127.5 + 128), bit for
 * bit the formula ganedge has always used (the form (x - lo) * scale + 0.5 is not: it rounds
 * differently on 33,087 float32 values of [-1, 1]).
 */
export function uint8Mapping(outputRange = [-1, 1]) {
  const [lo, hi] = outputRange.map(Number);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
    throw new GanEdgeError(`output_range must be two finite numbers lo < hi, got ${JSON.stringify(outputRange)}`);
  }
  const s = 255 / (hi - lo); // float64, rounded once for each of scale and offset (as in Python)
  return { scale: Math.fround(s), offset: Math.fround(0.5 - lo * s) };
}

export function toUint8(x, mapping) {
  return Math.min(255, Math.max(0, Math.floor(Math.fround(Math.fround(x * mapping.scale) + mapping.offset))));
}

// ---------------------------------------------------------------------------------------------
// The manifest, read from the ONNX file's metadata_props (ModelProto field 14, entries of
// key = 1 / value = 2): one source of truth with the Python SDK.

const MODEL_METADATA_PROPS = 14;
export const METADATA_KEY = "ganedge";

function* protoFields(buf, start, end) {
  let pos = start;
  const varint = () => {
    let value = 0, scale = 1, byte;
    do {
      if (pos >= end) throw new GanEdgeError("truncated protobuf varint: this is not a complete ONNX file");
      byte = buf[pos++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return value;
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) yield [field, wire, varint()];
    else if (wire === 1 || wire === 5) pos += wire === 1 ? 8 : 4;
    else if (wire === 2) {
      const length = varint();
      if (pos + length > end) throw new GanEdgeError("truncated protobuf field: this is not a complete ONNX file");
      yield [field, wire, [pos, pos + length]];
      pos += length;
    } else throw new GanEdgeError(`protobuf wire type ${wire} at byte ${pos}: this is not an ONNX file`);
    if (pos > end) throw new GanEdgeError("truncated protobuf field: this is not a complete ONNX file");
  }
}

/** All metadata_props of an ONNX model (bytes) as {key: value}. */
export function readMetadata(bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const text = new TextDecoder("utf-8", { fatal: false });
  const props = {};
  for (const [field, wire, span] of protoFields(buf, 0, buf.length)) {
    if (field !== MODEL_METADATA_PROPS || wire !== 2) continue;
    let key = "", value = "";
    for (const [f, w, s] of protoFields(buf, span[0], span[1])) {
      if (w !== 2) continue;
      if (f === 1) key = text.decode(buf.subarray(s[0], s[1]));
      else if (f === 2) value = text.decode(buf.subarray(s[0], s[1]));
    }
    props[key] = value;
  }
  return props;
}

/** The ganedge manifest of an ONNX model (bytes), checked; throws GanEdgeError when absent or invalid. */
export function readManifest(bytes, where = "model") {
  const text = readMetadata(bytes)[METADATA_KEY];
  if (text === undefined) {
    throw new GanEdgeError(`${where} has no ganedge manifest (ONNX metadata key "ganedge"): export it with \`ganedge export onnx\``);
  }
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new GanEdgeError(`${where}: the ganedge manifest is not valid JSON (${e.message})`);
  }
  return checkManifest(m, where);
}

export function checkManifest(m, where = "manifest") {
  const bad = (msg) => { throw new GanEdgeError(`${where}: manifest ${msg}`); };
  if (m === null || typeof m !== "object" || Array.isArray(m)) bad("is not a JSON object");
  if (m.format !== "ganedge/1") bad(`format ${JSON.stringify(m.format)} is not "ganedge/1"; re-export with this ganedge`);
  if (!Number.isInteger(m.latent_dim) || m.latent_dim < 1) bad(`latent_dim ${m.latent_dim} is not a positive integer`);
  const shape = m.image_shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v >= 1)) {
    bad(`image_shape ${JSON.stringify(shape)} is not [C, H, W]`);
  }
  if (shape[0] !== 1 && shape[0] !== 3) bad(`has ${shape[0]} channels; the page draws 1 (grey) or 3 (RGB)`);
  const numClasses = m.num_classes ?? 0;
  if (!Number.isInteger(numClasses) || numClasses < 0) bad(`num_classes ${numClasses} is not an integer >= 0`);
  const inputs = m.inputs ?? ["z"];
  if (!Array.isArray(inputs) || inputs.length < (numClasses ? 2 : 1)) bad(`inputs ${JSON.stringify(inputs)} lack a label input`);
  const names = m.class_names ?? null;
  if (names !== null && !(Array.isArray(names) && names.length === numClasses && names.every((n) => typeof n === "string"))) {
    bad(`class_names must be ${numClasses} strings`);
  }
  return {
    ...m,
    num_classes: numClasses,
    inputs,
    output: m.output ?? "image",
    output_range: m.output_range ?? [-1, 1],
    class_names: names,
    mapping: uint8Mapping(m.output_range ?? [-1, 1]),
  };
}

// ---------------------------------------------------------------------------------------------
// Loading and sampling.

const isNode = typeof process !== "undefined" && !!process.versions?.node && typeof window === "undefined"
  && typeof self === "undefined";

async function readSource(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const url = String(source);
  if (isNode && !/^https?:/i.test(url)) {
    const { readFile } = await import("node:fs/promises");
    const path = url.startsWith("file:") ? new URL(url) : url;
    return new Uint8Array(await readFile(path));
  }
  const response = await fetch(url);
  if (!response.ok) throw new GanEdgeError(`cannot fetch ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** onnxruntime-web from ./ort/ beside this module, set up for `threads` (1 without cross-origin isolation). */
export async function importOrt(threads) {
  const base = new URL("./ort/", import.meta.url);
  const ort = await import(new URL("ort.wasm.min.mjs", base).href);
  ort.env.wasm.wasmPaths = base.href;
  const isolated = typeof crossOriginIsolated !== "undefined" && crossOriginIsolated;
  ort.env.wasm.numThreads = isolated ? Math.max(1, threads ?? 1) : 1; // threads need SharedArrayBuffer
  return ort;
}

/**
 * Load a ganedge ONNX export: a URL or path, or its bytes. options: ort (an onnxruntime module;
 * default onnxruntime-web from ./ort/), threads, executionProviders (default ["wasm"] with
 * onnxruntime-web, ["cpu"] with onnxruntime-node), sessionOptions.
 */
export async function load(source, options = {}) {
  const bytes = await readSource(source);
  const where = typeof source === "string" ? source : "model";
  const manifest = readManifest(bytes, where);
  const ort = options.ort ?? (await importOrt(options.threads));
  const providers = options.executionProviders ?? (options.ort ? undefined : ["wasm"]);
  const sessionOptions = { graphOptimizationLevel: "all", ...(providers ? { executionProviders: providers } : {}),
    ...(options.ort && options.threads ? { intraOpNumThreads: options.threads } : {}), ...options.sessionOptions };
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (e) {
    throw new GanEdgeError(`${where} does not load in onnxruntime: ${e.message ?? e}`);
  }
  return new Generator(ort, session, manifest);
}

export class Generator {
  constructor(ort, session, manifest) {
    this.ort = ort;
    this.session = session;
    this.manifest = manifest;
    this.lastTiming = null; // {n, totalMs, runMs} of the last call
  }

  get imageShape() { return this.manifest.image_shape; }

  latents(seeds) { return latents(seeds, this.manifest.latent_dim); }

  /** Labels for n images: none for unconditional models; an int, a class name, or one per image. */
  checkLabels(labels, n) {
    const k = this.manifest.num_classes;
    if (k === 0) {
      if (labels !== undefined && labels !== null) throw new GanEdgeError("this model is unconditional: do not pass labels");
      return null;
    }
    if (labels === undefined || labels === null) {
      throw new GanEdgeError(`this model is conditional on ${k} classes: pass labels (an int in [0, ${k}) or a class name)`);
    }
    const one = (label) => {
      if (typeof label === "string" && !/^\d+$/.test(label)) {
        const i = (this.manifest.class_names ?? []).indexOf(label);
        if (i < 0) {
          const names = this.manifest.class_names;
          throw new GanEdgeError(`unknown class ${JSON.stringify(label)}${names ? `; classes: ${names.join(", ")}` : ": this model has no class names"}`);
        }
        return i;
      }
      const i = Number(label);
      if (!Number.isInteger(i) || i < 0 || i >= k) throw new GanEdgeError(`label ${label} is out of range: this model has classes 0..${k - 1}`);
      return i;
    };
    const list = Array.isArray(labels) || ArrayBuffer.isView(labels) ? Array.from(labels, one) : new Array(n).fill(one(labels));
    if (list.length !== n) throw new GanEdgeError(`got ${list.length} labels for ${n} images; pass one per image or a single label`);
    return BigInt64Array.from(list, BigInt);
  }

  /** The fixed batch of a graph exported at one (runners split and pad requests), or null when dynamic. */
  get fixedBatch() {
    const b = this.manifest.export?.fixed_batch;
    return Number.isInteger(b) && b > 0 ? b : null;
  }

  /** float32 NCHW images in output_range for latents z (Float32Array of n*latent_dim). */
  async generate(z, labels) {
    const dim = this.manifest.latent_dim;
    if (!(z instanceof Float32Array) || z.length % dim !== 0) throw new GanEdgeError(`z must be a Float32Array of n*${dim} values`);
    const n = z.length / dim;
    const ids = this.checkLabels(labels, n);
    const step = this.fixedBatch;
    const t0 = performance.now();
    if (!step) {
      const out = await this._run(z, ids, n);
      this._runMs = performance.now() - t0;
      return out;
    }
    // A fixed-batch graph: chunks of its size, the last padded with zero latents (their images are dropped).
    const [c, h, w] = this.manifest.image_shape;
    const size = c * h * w, result = new Float32Array(n * size);
    for (let i = 0; i < n; i += step) {
      const m = Math.min(step, n - i);
      const zc = new Float32Array(step * dim);
      zc.set(z.subarray(i * dim, (i + m) * dim));
      let idc = null;
      if (ids) { idc = new BigInt64Array(step); idc.set(ids.subarray(i, i + m)); }
      result.set((await this._run(zc, idc, step)).subarray(0, m * size), i * size);
    }
    this._runMs = performance.now() - t0;
    return result;
  }

  async _run(z, ids, n) {
    const dim = this.manifest.latent_dim;
    const [zName, labelName] = this.manifest.inputs;
    const feeds = { [zName]: new this.ort.Tensor("float32", z, [n, dim]) };
    if (ids) feeds[labelName] = new this.ort.Tensor("int64", ids, [n]);
    const out = await this.session.run(feeds);
    const image = out[this.manifest.output];
    if (!image) throw new GanEdgeError(`the model has no output ${JSON.stringify(this.manifest.output)}`);
    const [c, h, w] = this.manifest.image_shape;
    if (image.data.length !== n * c * h * w) throw new GanEdgeError(`output has ${image.data.length} values, expected ${n}x${c}x${h}x${w}`);
    return image.data instanceof Float32Array ? image.data : Float32Array.from(image.data);
  }

  /** Images for a list of seeds; options: truncation (psi, 1 = off), labels, format "imagedata" | "nhwc". */
  async sampleSeeds(seeds, { truncation = 1, labels, format = "imagedata" } = {}) {
    const t0 = performance.now();
    const list = Array.from(seeds, checkSeed);
    const z = this.latents(list);
    scaleLatents(z, truncation);
    const x = await this.generate(z, labels);
    const result = this.toImages(x, list.length, format, list);
    this.lastTiming = { n: list.length, totalMs: performance.now() - t0, runMs: this._runMs };
    return result;
  }

  /** Images for seeds seed..seed+n-1 (like the Python SDK's sample). */
  async sample(n, { seed = 0, ...options } = {}) {
    return this.sampleSeeds(seedRange(seed, n), options);
  }

  /** One image per t in ts on the path from seed a to seed b (see slerp); truncation applies after. */
  async interpolate(a, b, ts, { mode = "slerp", truncation = 1, labels, format = "imagedata" } = {}) {
    const t0 = performance.now();
    const dim = this.manifest.latent_dim;
    const ends = this.latents([a, b]);
    const za = ends.subarray(0, dim), zb = ends.subarray(dim);
    const z = new Float32Array(ts.length * dim);
    ts.forEach((t, i) => slerp(za, zb, t, mode, z.subarray(i * dim, (i + 1) * dim)));
    scaleLatents(z, truncation);
    const x = await this.generate(z, labels);
    const result = this.toImages(x, ts.length, format);
    this.lastTiming = { n: ts.length, totalMs: performance.now() - t0, runMs: this._runMs };
    return result;
  }

  /** float32 NCHW -> uint8 NHWC (format "nhwc") or one RGBA ImageData per image. */
  toImages(x, n, format = "imagedata", seeds = null) {
    const [c, h, w] = this.manifest.image_shape;
    const plane = h * w, mapping = this.manifest.mapping;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        const row = Math.floor(i / (c * plane));
        throw new GanEdgeError(`the model produced NaN/Inf for ${seeds ? `seed ${seeds[row]}` : `image ${row}`}`);
      }
    }
    if (format === "nhwc") {
      const out = new Uint8ClampedArray(n * plane * c);
      for (let i = 0; i < n; i++) {
        for (let ch = 0; ch < c; ch++) {
          const src = (i * c + ch) * plane;
          for (let p = 0; p < plane; p++) out[(i * plane + p) * c + ch] = toUint8(x[src + p], mapping);
        }
      }
      return out;
    }
    if (format !== "imagedata") throw new GanEdgeError(`format must be "imagedata" or "nhwc", got ${format}`);
    const images = [];
    for (let i = 0; i < n; i++) {
      const rgba = new Uint8ClampedArray(plane * 4);
      for (let p = 0; p < plane; p++) {
        for (let k = 0; k < 3; k++) rgba[p * 4 + k] = toUint8(x[(i * c + (c === 3 ? k : 0)) * plane + p], mapping);
        rgba[p * 4 + 3] = 255;
      }
      images.push(typeof ImageData === "function" ? new ImageData(rgba, w, h) : { width: w, height: h, data: rgba, colorSpace: "srgb" });
    }
    return images;
  }

  async release() {
    await this.session.release?.();
  }
}

function scaleLatents(z, truncation) {
  const psi = Number(truncation);
  if (typeof truncation === "boolean" || !Number.isFinite(psi)) {
    throw new GanEdgeError(`truncation must be a finite number (1 = off), got ${truncation}`);
  }
  if (psi === 1) return;
  const f = Math.fround(psi); // numpy: z *= np.float32(psi)
  for (let i = 0; i < z.length; i++) z[i] = Math.fround(z[i] * f);
}
