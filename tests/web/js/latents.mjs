// node latents.mjs GANEDGE_JS SEEDS_FILE DIMS OUT
// Writes, for each dim in the comma-separated DIMS, ganedge.js's latents(seeds, dim) as raw
// float32 (little-endian), one block after the other. SEEDS_FILE: one decimal seed per line.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [ganedgeJs, seedsFile, dims, out] = process.argv.slice(2);
const { latents } = await import(pathToFileURL(ganedgeJs).href);
const seeds = readFileSync(seedsFile, "utf8").split("\n").filter(Boolean);
const blocks = dims.split(",").map((d) => latents(seeds, Number(d)));
writeFileSync(out, Buffer.concat(blocks.map((z) => Buffer.from(z.buffer, z.byteOffset, z.byteLength))));
