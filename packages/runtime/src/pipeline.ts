/**
 * What the API needs from a loaded model, independent of where it runs: text and image embeddings plus the
 * checkpoint's logit scale and bias. `openModel` (model-factory.ts) builds one from a bundle; the edge API and
 * `siglip serve` only see this interface.
 * @module
 */
import { isSiglipError, SiglipError, type LogitParams } from "@siglip-edge/core";
import type { LowercaseMode } from "@siglip-edge/tokenizer";

/** A model as listed by `GET /v1/models`. */
export interface ModelCard {
  /** Hugging Face id, or a bundle name for local bundles (`tiny-fixres`). */
  id: string;
  family: "fixres" | "naflex";
  /** Human size, e.g. `B/16 @224` or `tiny`. */
  size: string;
  /** Identifies the weights and preprocessing: cache keys and `x-model-revision` use it. */
  revision: string;
  embedDim: number;
  /** Where the towers run, e.g. `workerd: onnxruntime-web (wasm, 1 thread)`. */
  runsOn: string;
  /** Weight format of the towers, e.g. `fp32`, `int8`, `q4`. */
  quantization: string;
  /** The KServe backend that runs the towers (routing table name); absent when they run at the edge. */
  backend?: string;
  /** FixRes: the square input side. */
  imageSize?: number;
  /**
   * NaFlex: patch size, the bundle's default patch budget and the budgets the model takes per request
   * (`max_num_patches`: `allowedPatchCounts` of @siglip-edge/core, before any deployment cap).
   */
  naflex?: { patchSize: number; defaultPatches: number; allowedPatches: number[] };
}

/** Per-request image options. */
export interface ImageOptions {
  /**
   * NaFlex models: the patch budget N (Hugging Face's `max_num_patches`), one of the card's `naflex.allowedPatches`;
   * default the bundle's. FixRes models refuse it (`INVALID_ARGUMENT`, `details.param` = "max_num_patches").
   */
  maxNumPatches?: number;
}

export interface TextEmbeddings {
  /** One raw (not normalised) embedding per text, [D] float32 each. */
  embeddings: Float32Array[];
  /** Tokens that are not padding, summed over the texts (the `usage` figure). */
  tokens: number;
}

/** `none` = transformers 4.x; `ascii` = what the checkpoints were trained on (default); `unicode` = transformers 5. */
export type { LowercaseMode };

export interface EmbedTextOptions {
  /** Lowercasing before tokenizing; default the tokenizer's (`ascii`). */
  lowercase?: LowercaseMode;
}

/**
 * An image already decoded and resized for the model: [H, W, 3] uint8. FixRes: S x S (`preprocessFixResRgb`); NaFlex:
 * its NaFlex grid, both sides multiples of the patch size (`preprocessNaFlexRgb`). The API Worker of a split
 * deployment sends these to the vision Worker (150 KiB at 224 px, no decoding there).
 */
export interface SizedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** What a local vision tower takes: encoded image files, or images already sized for the model. */
export type ImageInput = Uint8Array | SizedImage;

/** An image's error with its position in the request (`details.imageIndex`), so the API can say which one failed. */
export function atImageIndex(err: unknown, index: number): unknown {
  return isSiglipError(err) ? new SiglipError(err.code, err.message, { cause: err, details: { ...err.details, imageIndex: index } }) : err;
}

export interface SiglipPipeline {
  readonly card: ModelCard;
  readonly logit: LogitParams;
  embedTexts(texts: readonly string[], options?: EmbedTextOptions): Promise<TextEmbeddings>;
  /** Token id rows ([T] int32 each) to raw embeddings; pipelines that run the text tower locally have it. */
  embedTokenIds?(idRows: readonly Int32Array[]): Promise<TextEmbeddings>;
  /** Encoded image files (PNG, JPEG, ...) to raw embeddings, [D] float32 each. */
  embedImages(images: readonly Uint8Array[], options?: ImageOptions): Promise<Float32Array[]>;
}

/** The models one deployment serves. */
export interface ModelProvider {
  list(): Promise<readonly ModelCard[]>;
  /** Loads (once) and returns a model; throws `UNKNOWN_CHECKPOINT` for an id it does not serve. */
  get(id: string): Promise<SiglipPipeline>;
}

/** A provider over named models opened on first use (opening reads a manifest; weights load on first inference). */
export function lazyProvider(entries: readonly { id: string; open: () => Promise<SiglipPipeline> }[]): ModelProvider {
  const opened = new Map<string, Promise<SiglipPipeline>>();
  const get = (id: string): Promise<SiglipPipeline> => {
    const entry = entries.find((e) => e.id === id);
    if (entry === undefined) {
      return Promise.reject(new SiglipError("UNKNOWN_CHECKPOINT", `model "${id}" is not served here; GET /v1/models lists ${entries.map((e) => `"${e.id}"`).join(", ")}`));
    }
    let p = opened.get(id);
    if (p === undefined) {
      p = entry.open();
      p.catch(() => opened.delete(id));
      opened.set(id, p);
    }
    return p;
  };
  return { get, list: async () => Promise.all(entries.map(async (e) => (await get(e.id)).card)) };
}
