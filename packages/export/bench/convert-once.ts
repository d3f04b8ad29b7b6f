/**
 * Converts one checkpoint and prints {"seconds", "maxRssMB", "bytes"} as JSON: run in its own process so the peak
 * RSS (getrusage ru_maxrss) is the export's alone.
 * Usage: node bench/convert-once.ts CHECKPOINT_DIR OUT_DIR [DTYPE]
 */
import { convertCheckpoint } from "../src/convert.ts";
import type { WeightDType } from "../src/graphs/layers.ts";

const [ck, out, dtype] = process.argv.slice(2);
if (ck === undefined || out === undefined) throw new Error("usage: convert-once.ts CHECKPOINT_DIR OUT_DIR [DTYPE]");
const t0 = performance.now();
const m = await convertCheckpoint(ck, out, { dtype: (dtype ?? "fp32") as WeightDType });
const seconds = (performance.now() - t0) / 1000;
const bytes = m.files.reduce((a, f) => a + f.bytes, 0);
console.log(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024, bytes }));
