// node slerp.mjs GANEDGE_JS: prints "<check> ok" (or "<check> FAILED ...") for slerp's properties.
import { pathToFileURL } from "node:url";

const { latents, slerp } = await import(pathToFileURL(process.argv[2]).href);
const dim = 64;
const z = latents([3, 17], dim);
const a = z.subarray(0, dim), b = z.subarray(dim);
const same = (x, y) => x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
const norm = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
const report = (name, ok, detail = "") => console.log(`${name} ${ok ? "ok" : `FAILED ${detail}`}`);
const throws = (f) => { try { f(); return false; } catch (e) { return e.name === "GanEdgeError"; } };

report("ends_are_the_seeds", same(slerp(a, b, 0), a) && same(slerp(a, b, 1), b));
report("same_latent_is_constant", [0.25, 0.5, 0.9].every((t) => same(slerp(a, a, t), a)));
const e1 = new Float32Array(dim), e2 = new Float32Array(dim);
e1[0] = 1; e2[1] = 1;
const mid = slerp(e1, e2, 0.5), lerpMid = slerp(e1, e2, 0.5, "lerp");
report("slerp_keeps_the_norm", Math.abs(norm(mid) - 1) < 1e-6, norm(mid));
report("lerp_is_the_straight_line", Math.abs(norm(lerpMid) - Math.SQRT1_2) < 1e-6 && lerpMid[0] === 0.5);
const zero = new Float32Array(dim);
report("zero_vector_falls_back_to_lerp", same(slerp(zero, b, 0.5), Float32Array.from(b, (v) => Math.fround(0.5 * v))));
report("bad_arguments_throw", throws(() => slerp(a, b, 1.5)) && throws(() => slerp(a, b, 0.5, "cubic"))
  && throws(() => slerp(a, b.subarray(1), 0.5)));
