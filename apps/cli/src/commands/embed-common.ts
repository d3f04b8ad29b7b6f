/** Shared by `embed` and `classify`: open a bundle (directory or cached hub id), tokenize texts, embed files. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { assertVocabFits, BundleModel, embedImageBytes, WEIGHT_DTYPES } from "@siglip-edge/export";
import { DEFAULT_LOWERCASE, LOWERCASE_MODES, type LowercaseMode } from "@siglip-edge/tokenizer";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import type { FlagSpecs } from "../args.ts";
import type { CommandIO } from "../io.ts";
import { resolveBundle } from "../model.ts";

/** The flags that pick and feed a model, shared by `embed` and `classify`. */
export const MODEL_FLAGS = {
  model: { type: "string", short: "m" },
  image: { type: "string", short: "i" },
  tokenizer: { type: "string" },
  lowercase: { type: "string", choices: LOWERCASE_MODES },
  revision: { type: "string" },
  dtype: { type: "string", choices: WEIGHT_DTYPES },
} satisfies FlagSpecs;

/** `--revision` / `--dtype` pick the cached bundle when `model` is a hub id or `tiny` (ignored for a directory). */
export async function openModel(model: string, io: CommandIO, revision?: string, dtype?: string): Promise<BundleModel> {
  return BundleModel.load(await resolveBundle(model, io, { revision, dtype }), { backend: "node" });
}

/** Texts to pooler_output rows, with the bundle's tokenizer (else the Gemma development vocabulary). */
export async function embedTexts(m: BundleModel, texts: readonly string[], io: CommandIO, tokenizerPath?: string, lowercase: LowercaseMode = DEFAULT_LOWERCASE): Promise<Float32Array[]> {
  const path = tokenizerPath ?? (m.manifest.text.tokenizer !== null ? join(m.dir, m.manifest.text.tokenizer) : devTokenizerJsonPath());
  const tok = await loadTokenizer(path, { cacheDir: io.env["SIGLIP_NO_CACHE"] ? null : undefined });
  assertVocabFits(m, tok.vocabSize);
  const ids = texts.map((t) => tok.encode(t, { lowercase, maxLength: m.manifest.text.maxLength }));
  const out = await m.embedTokenIds(ids, true); // split table: what the edge runs
  const D = out.dims[1] as number;
  return texts.map((_, i) => out.data.slice(i * D, (i + 1) * D));
}

export async function embedImages(m: BundleModel, paths: readonly string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const p of paths) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(p));
    } catch (cause) {
      throw new SiglipError("NOT_FOUND", `cannot read image ${p}`, { cause });
    }
    out.push(await embedImageBytes(m, bytes));
  }
  return out;
}
