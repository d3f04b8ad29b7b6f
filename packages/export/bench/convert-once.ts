/**
 * Converts one checkpoint and prints {"seconds", "maxRssMB", "bytes"} as JSON: run in its own process so the peak
 * RSS is the export's alone. Peak RSS is VmHWM from /proc/self/status, not getrusage's ru_maxrss: Linux keeps
 * ru_maxrss across fork + exec, so a child of a big parent (the bench holding B/16 sessions) reports the parent's size.
 * Usage: node bench/convert-once.ts CHECKPOINT_DIR OUT_DIR [DTYPE]
 */
import { readFileSync } from "node:fs";
import { convertCheckpoint } from "../src/convert.ts";
import type { WeightDType } from "../src/graphs/layers.ts";

const [ck, out, dtype] = process.argv.slice(2);
if (ck === undefined || out === undefined) throw new Error("usage: convert-once.ts CHECKPOINT_DIR OUT_DIR [DTYPE]");
const t0 = performance.now();
const m = await convertCheckpoint(ck, out, { dtype: (dtype ?? "fp32") as WeightDType });
const seconds = (performance.now() - t0) / 1000;
const bytes = m.files.reduce((a, f) => a + f.bytes, 0);
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
console.log(JSON.stringify({ seconds, maxRssMB: (hwm === undefined ? process.resourceUsage().maxRSS : Number(hwm)) / 1024, bytes }));
