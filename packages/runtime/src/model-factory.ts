/**
 * Builds a served model from a bundle source: manifest, tokenizer (SGTK preferred: compact and fast to load at the
 * edge), FixRes preprocessing from packages/preprocess, and the engine. Used by the Worker, its tower roles and
 * `siglip serve`.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { fixresPixels, preprocessFixResRgb, type DecodeLimits } from "@siglip-edge/preprocess";
import { Tokenizer } from "@siglip-edge/tokenizer";
import type { BundleSource } from "./bundle-source.ts";
import { verifiedRead } from "./bundle-source.ts";
import { BundlePipeline, type BundlePipelineOptions } from "./bundle-pipeline.ts";
import type { InferenceEngine } from "./engine.ts";
import { fileDigest, type BundleManifest } from "@siglip-edge/core";
import { readManifest } from "./bundle-source.ts";

/** Compact tokenizer written next to a bundle by `prepare` scripts when the manifest lists none. */
export const SGTK_FILE = "tokenizer.sgtk";

/**
 * The bundle's tokenizer: `tokenizer.sgtk` when present (compiled from the bundle's tokenizer by `npm start` or the
 * deploy steps; a 17 MB `tokenizer.json` is too slow and too large to parse in a 128 MB isolate), else the
 * manifest's `text.tokenizer` (size and sha256 verified).
 */
export async function loadBundleTokenizer(source: BundleSource, manifest: BundleManifest): Promise<Tokenizer> {
  try {
    return Tokenizer.fromBytes(await source.read(SGTK_FILE));
  } catch (cause) {
    if ((cause as { code?: string }).code !== "NOT_FOUND") throw cause;
  }
  const listed = manifest.text.tokenizer;
  if (listed === null) {
    throw new SiglipError("MODEL_LOAD_FAILED", `${source.location}: the manifest lists no tokenizer and there is no ${SGTK_FILE}`);
  }
  return Tokenizer.fromBytes(await verifiedRead(source, listed, fileDigest(manifest, listed)));
}

export interface OpenModelOptions extends Partial<Pick<BundlePipelineOptions, "id" | "foldTokenIds" | "maxTextBatch" | "maxImageBatch" | "verify" | "threads" | "memArena" | "stage">> {
  engine: InferenceEngine;
  source: BundleSource;
  runsOn: string;
  /** Override the bundle's tokenizer (tests, or a bundle without one). */
  tokenizer?: Tokenizer;
  /** Registers the JPEG/WebP decoders (platform-specific: CompiledWasm in Workers, files on Node). */
  initDecoders?: () => Promise<void>;
  /** Decoding caps (Workers: `WORKER_LIMITS`, sized for a 128 MB isolate); default `DEFAULT_LIMITS`. */
  decodeLimits?: Partial<DecodeLimits>;
}

/**
 * The bundle's tokenizer, loaded on first use (14 MB for Gemma 256k: on the first text request, not when the model is
 * listed) and retried after a failed load; `override` (tests, bundles without one) is used as is.
 */
export function lazyBundleTokenizer(source: BundleSource, manifest: BundleManifest, override?: Tokenizer): () => Promise<Tokenizer> {
  let tokenizer: Promise<Tokenizer> | undefined = override ? Promise.resolve(override) : undefined;
  return () => {
    tokenizer ??= loadBundleTokenizer(source, manifest);
    tokenizer.catch(() => (tokenizer = undefined));
    return tokenizer;
  };
}

export async function openBundleModel(o: OpenModelOptions): Promise<BundlePipeline> {
  const manifest = await readManifest(o.source);
  const getTokenizer = lazyBundleTokenizer(o.source, manifest, o.tokenizer);
  const pp = manifest.preprocessing;
  const maxLength = manifest.text.maxLength;
  return new BundlePipeline({
    ...o,
    manifest,
    tokenize: async (text, lowercase) => (await getTokenizer()).encode(text, lowercase === undefined ? { maxLength } : { maxLength, lowercase }),
    pixels: async (image, out) => {
      if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served yet");
      const S = pp.imageSize;
      if (image instanceof Uint8Array) {
        await o.initDecoders?.();
        return void fixresPixels(await preprocessFixResRgb(image, { size: S, resample: pp.resample, ...(o.decodeLimits ? { limits: o.decodeLimits } : {}) }), { size: S }, out);
      }
      if (image.width !== S || image.height !== S || image.channels !== 3 || image.data.length !== S * S * 3) {
        throw new SiglipError("INVALID_ARGUMENT", `a sized image must be ${S}x${S}x3 uint8 for this model, got ${image.width}x${image.height}x${image.channels} (${image.data.length} bytes)`);
      }
      fixresPixels(image, { size: S }, out);
    },
  });
}
