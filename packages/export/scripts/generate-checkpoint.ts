/**
 * Writes a seeded random-weight checkpoint in the Hugging Face layout.
 * Usage: node scripts/generate-checkpoint.ts PRESET OUT_DIR [--seed N] [--dtype F32|F16|BF16] [--shards N]
 * Presets: tiny-fixres, tiny-naflex, b16-fixres, b16-naflex (see src/generate.ts).
 */
import { generateCheckpoint } from "../src/generate.ts";
import type { StDType } from "../src/safetensors.ts";

const [preset, out, ...rest] = process.argv.slice(2);
if (preset === undefined || out === undefined) {
  console.error("usage: generate-checkpoint.ts PRESET OUT_DIR [--seed N] [--dtype F32|F16|BF16] [--shards N]");
  process.exit(2);
}
const flag = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i === -1 ? undefined : rest[i + 1];
};
await generateCheckpoint(out, preset, {
  seed: Number(flag("--seed") ?? 0),
  dtype: (flag("--dtype") ?? "F32") as StDType,
  shards: Number(flag("--shards") ?? 1),
});
console.log(`wrote ${preset} to ${out}`);
