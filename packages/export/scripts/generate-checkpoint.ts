/**
 * Writes a seeded random-weight checkpoint in the Hugging Face layout.
 * Usage: node scripts/generate-checkpoint.ts PRESET OUT_DIR [--seed N] [--dtype F32|F16|BF16] [--shards N] [--outliers CHANNELS:GAIN]
 * Presets: tiny-fixres, tiny-naflex, b16-fixres, b16-naflex (see src/generate.ts).
 * --outliers plants activation-outlier channels, e.g. 3:30 (3 channels per LayerNorm at gain 30, DEFAULT_OUTLIERS; the
 * fp32 function is unchanged, see OutlierOptions in src/generate.ts).
 */
import { DEFAULT_OUTLIERS, generateCheckpoint, type OutlierOptions } from "../src/generate.ts";
import type { StDType } from "../src/safetensors.ts";

const [preset, out, ...rest] = process.argv.slice(2);
if (preset === undefined || out === undefined) {
  console.error("usage: generate-checkpoint.ts PRESET OUT_DIR [--seed N] [--dtype F32|F16|BF16] [--shards N] [--outliers CHANNELS:GAIN]");
  process.exit(2);
}
const flag = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i === -1 ? undefined : rest[i + 1];
};
const spec = flag("--outliers");
const m = spec === undefined ? null : /^(\d+):(\d+(?:\.\d+)?)$/.exec(spec);
if (spec !== undefined && m === null) {
  console.error(`--outliers takes CHANNELS:GAIN (e.g. ${DEFAULT_OUTLIERS.channels}:${DEFAULT_OUTLIERS.gain}), got ${spec}`);
  process.exit(2);
}
const outliers: OutlierOptions | undefined = m === null ? undefined : { channels: Number(m[1]), gain: Number(m[2]) };
await generateCheckpoint(out, preset, {
  seed: Number(flag("--seed") ?? 0),
  dtype: (flag("--dtype") ?? "F32") as StDType,
  shards: Number(flag("--shards") ?? 1),
  outliers,
});
console.log(`wrote ${preset}${outliers === undefined ? "" : ` with outliers ${outliers.channels}:${outliers.gain}`} to ${out}`);
