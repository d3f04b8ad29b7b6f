/**
 * Peak memory for one large JPEG through decode + FixRes 224 (run in a fresh process by run.ts):
 * prints JSON { rssBeforeMiB, peakRssMiB, ms }.
 */
import { readFileSync } from "node:fs";
import { decodeImage, fixresPixels } from "../src/index.ts";
import { initNodeDecoders } from "../src/node/index.ts";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: mem-24mp.ts FILE.jpg");
await initNodeDecoders();
const bytes = new Uint8Array(readFileSync(file));
const before = process.memoryUsage().rss;
const t0 = performance.now();
const img = await decodeImage(bytes, { limits: { maxPixels: 30_000_000 } });
const pv = fixresPixels(img, { size: 224 });
const ms = performance.now() - t0;
process.stdout.write(
  JSON.stringify({ width: img.width, height: img.height, values: pv.length, rssBeforeMiB: before / 2 ** 20, peakRssMiB: process.resourceUsage().maxRSS / 1024, ms }) + "\n",
);
