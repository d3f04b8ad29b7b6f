/**
 * Peak memory for one large JPEG through decode + FixRes 224 (run in a fresh process by run.ts):
 * `mem-24mp.ts FILE.jpg [wasm|stream]` prints JSON { rssBeforeMiB, peakRssMiB, heapMiB, externalMiB, ms }.
 * `wasm`: the full-image route (MozJPEG WASM decode, then resize); `stream`: the pure-TS decoder's rows straight
 * into the resize (`preprocessFixRes` with `jpegDecoder: "ts"`). heap/external are read right after the call, before
 * any forced GC, so they include garbage the call left (an upper bound of what was live).
 */
import { readFileSync } from "node:fs";
import { decodeImage, fixresPixels, preprocessFixRes } from "../src/index.ts";
import { initNodeDecoders } from "../src/node/index.ts";
import { peakRssMiB } from "./peak-rss.ts";

const file = process.argv[2];
const mode = process.argv[3] ?? "wasm";
if (file === undefined || (mode !== "wasm" && mode !== "stream")) throw new Error("usage: mem-24mp.ts FILE.jpg [wasm|stream]");
await initNodeDecoders();
const bytes = new Uint8Array(readFileSync(file));
const before = process.memoryUsage();
const t0 = performance.now();
let values: number;
if (mode === "wasm") {
  const img = await decodeImage(bytes, { limits: { maxPixels: 30_000_000 }, jpegDecoder: "wasm" });
  values = fixresPixels(img, { size: 224 }).length;
} else {
  values = (await preprocessFixRes(bytes, { size: 224, limits: { maxPixels: 30_000_000 }, jpegDecoder: "ts" })).data.length;
}
const ms = performance.now() - t0;
const after = process.memoryUsage();
const MiB = 2 ** 20;
process.stdout.write(
  JSON.stringify({
    mode,
    values,
    rssBeforeMiB: before.rss / MiB,
    peakRssMiB: peakRssMiB(),
    heapMiB: (after.heapUsed - before.heapUsed) / MiB,
    externalMiB: (after.external - before.external) / MiB,
    ms,
  }) + "\n",
);
