// node exactmath.mjs OUT
// The float32 log, cos and sin that ganedge.js's latents use, for every input they can get:
// r = 2 - u and theta = f32((u - 1.5) * f32(2 pi)) for the 2**23 values u = 1 + k / 2**23.
// Writes three float32 arrays of 2**23 values (log r, cos theta, sin theta), in k order.
import { writeFileSync } from "node:fs";

const N = 1 << 23;
const TWO_PI_F32 = Math.fround(2 * Math.PI);
const log = new Float32Array(N), cos = new Float32Array(N), sin = new Float32Array(N);
for (let k = 0; k < N; k++) {
  const u = 1 + k / N;
  log[k] = Math.log(2 - u); // a Float32Array store rounds like Math.fround
  const theta = Math.fround((u - 1.5) * TWO_PI_F32);
  cos[k] = Math.cos(theta);
  sin[k] = Math.sin(theta);
}
writeFileSync(OUT(), Buffer.concat([log, cos, sin].map((a) => Buffer.from(a.buffer))));
function OUT() { return process.argv[2]; }
