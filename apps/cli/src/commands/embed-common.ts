/**
 * Shared by `embed`, `classify` and `audit run --model`: open a bundle (directory or cached hub id) with the runtime's
 * `openModel` on onnxruntime-node, tokenize texts, embed files.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SiglipError, WEIGHT_DTYPES } from "@siglip-edge/core";
import { loadManifest } from "@siglip-edge/export";
import { engineTowers, openModel as openBundle, type EngineTowers, type ModelPipeline } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
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

export interface OpenModelFlags {
  /** Picks the cached bundle when `model` is a hub id or `tiny` (ignored for a directory). */
  revision?: string | undefined;
  dtype?: string | undefined;
  /** A tokenizer file instead of the bundle's (else the Gemma development vocabulary for bundles without one). */
  tokenizer?: string | undefined;
}

/**
 * Opens a bundle after checking every file's size and sha256 (the whole bundle, before any run: a corrupt file is
 * one error line, whichever tower it belongs to). Texts use the bundle's `tokenizer.json` (else `--tokenizer`, else
 * the Gemma development vocabulary), loaded with the tokenizer package's compiled cache on the first text.
 */
export async function openModel(model: string, io: CommandIO, flags: OpenModelFlags = {}): Promise<ModelPipeline<EngineTowers>> {
  const dir = await resolveBundle(model, io, { revision: flags.revision, dtype: flags.dtype });
  const manifest = await loadManifest(dir);
  const tokenizer = async () => {
    const path = flags.tokenizer ?? (manifest.text.tokenizer !== null ? join(dir, manifest.text.tokenizer) : devTokenizerJsonPath());
    const tok = await loadTokenizer(path, { cacheDir: io.env["SIGLIP_NO_CACHE"] ? null : undefined });
    // A tiny test bundle cannot take Gemma ids.
    const rows = manifest.tokenTable.rows;
    if (tok.vocabSize > rows) throw new SiglipError("INVALID_ARGUMENT", `the tokenizer has ${tok.vocabSize} tokens but the bundle's table has ${rows} rows`);
    return tok;
  };
  return openBundle({
    source: fsBundleSource(dir),
    manifest,
    towers: engineTowers(createNodeEngine(), { verify: false }), // verified whole above
    runsOn: "node: onnxruntime-node (native CPU, 1 thread)",
    tokenizer,
    initDecoders: initNodeDecoders,
    naflex: true,
  });
}

/** Texts to pooler_output rows (split table: what the edge runs). */
export async function embedTexts(m: ModelPipeline, texts: readonly string[], lowercase: LowercaseMode = DEFAULT_LOWERCASE): Promise<Float32Array[]> {
  return (await m.embedTexts(texts, { lowercase })).embeddings;
}

export async function embedImages(m: ModelPipeline, paths: readonly string[]): Promise<Float32Array[]> {
  const files: Uint8Array[] = [];
  for (const p of paths) {
    try {
      files.push(new Uint8Array(await readFile(p)));
    } catch (cause) {
      throw new SiglipError("NOT_FOUND", `cannot read image ${p}`, { cause });
    }
  }
  return m.embedImages(files);
}
