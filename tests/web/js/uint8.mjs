// node uint8.mjs GANEDGE_JS FLOAT32_FILE LO,HI OUT: ganedge.js's float -> uint8 mapping of each value.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [ganedgeJs, input, range, out] = process.argv.slice(2);
const { toUint8, uint8Mapping } = await import(pathToFileURL(ganedgeJs).href);
const bytes = readFileSync(input);
const x = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const mapping = uint8Mapping(range.split(",").map(Number));
writeFileSync(out, Uint8Array.from(x, (v) => toUint8(v, mapping)));
