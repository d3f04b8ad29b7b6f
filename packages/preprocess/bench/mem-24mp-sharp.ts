/** Peak memory for one large JPEG through the sharp pipeline (FixRes 224), in a fresh process. */
import { readFileSync } from "node:fs";
import { peakRssMiB } from "./peak-rss.ts";
import { sharpFixRes } from "./sharp-pipeline.ts";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: mem-24mp-sharp.ts FILE.jpg");
const bytes = new Uint8Array(readFileSync(file));
const before = process.memoryUsage().rss;
const t0 = performance.now();
await sharpFixRes(bytes, 224);
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ rssBeforeMiB: before / 2 ** 20, peakRssMiB: peakRssMiB(), ms }) + "\n");
