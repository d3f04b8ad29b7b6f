/**
 * The one `SiglipPipeline` over a bundle, wherever its towers run (towers.ts): texts to checked token ids, images to
 * model inputs (decoded and resized with packages/preprocess, FixRes or NaFlex as the manifest says), both cut into
 * the towers' batches, raw embeddings back. `openModel` (model-factory.ts) builds it; the CLI, `siglip serve`, the
 * Worker, its tower roles, the API Worker of a split deployment and the KServe path all run through it.
 * @module
 */
import { findCheckpoint, SiglipError, tensor, type BundleManifest, type Tensor } from "@siglip-edge/core";
import { naflexBatchOf, preprocessFixResRgb, preprocessNaFlexImage, type DecodeLimits, type NaFlexImage } from "@siglip-edge/preprocess";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import type { BundleSource } from "./bundle-source.ts";
import { atImageIndex, type EmbedTextOptions, type ImageInput, type LowercaseMode, type ModelCard, type SiglipPipeline, type SizedImage, type TextEmbeddings } from "./pipeline.ts";
import { isStaged, type StagedTower, type StagedTowers, type StageOutput, type Towers } from "./towers.ts";

function sizeLabel(m: BundleManifest): string {
  const known = findCheckpoint(m.checkpoint.id);
  if (known !== undefined) return `${known.variant}/${known.patchSize}${known.imageSize ? ` @${known.imageSize}` : " naflex"}`;
  const v = m.sizes.vision;
  return `custom (vision D=${v.hiddenSize}, patch ${v.patchSize}${v.imageSize ? `, ${v.imageSize}px` : ""}; text D=${m.sizes.text.hiddenSize})`;
}

/** Revision: the checkpoint's, or a digest of the weights the pipeline runs (changes whenever they change). */
function revisionOf(m: BundleManifest): string {
  if (m.checkpoint.revision) return m.checkpoint.revision;
  const sha = (p: string) => m.files.find((f) => f.path === p)?.sha256.slice(0, 8) ?? "00000000";
  return `sha-${sha(`${m.graphs.vision}.data`)}${sha(`${m.graphs.textSplit}.data`)}${sha(m.tokenTable.file)}`;
}

export function modelCard(m: BundleManifest, runsOn: string, id?: string, backend?: string): ModelCard {
  return {
    id: id ?? m.checkpoint.id,
    family: m.family,
    size: sizeLabel(m),
    revision: revisionOf(m),
    embedDim: m.sizes.embedDim,
    runsOn,
    quantization: m.dtype,
    ...(backend === undefined ? {} : { backend }),
  };
}

export interface ModelPipelineOptions<T extends Towers> {
  manifest: BundleManifest;
  source: BundleSource;
  towers: T;
  /** The tokenizer, loaded on first use (model-factory.ts `lazyBundleTokenizer`). */
  tokenizer: () => Promise<Tokenizer>;
  /** Id to serve the model under; default the manifest's checkpoint id. */
  id?: string;
  /** Shown in `/v1/models`; default the towers' `runsOn`. */
  runsOn?: string;
  /**
   * Tiny random-weight fixtures only: their token table has fewer rows than the real tokenizer's vocabulary, so ids
   * are reduced modulo the row count. Never set for real checkpoints (it would silently change the text).
   */
  foldTokenIds?: boolean;
  /** Largest batch per tower call; default the towers' `batch`. */
  maxTextBatch?: number;
  maxImageBatch?: number;
  /** Registers the JPEG/WebP decoders (platform-specific: CompiledWasm in Workers, files on Node). */
  initDecoders?: () => Promise<void>;
  /** Decoding caps (Workers: `WORKER_LIMITS`, sized for a 128 MB isolate); default `DEFAULT_LIMITS`. */
  decodeLimits?: Partial<DecodeLimits>;
  /**
   * Embed images of NaFlex bundles (towers with `naflex`: the local engines). Off by default: the HTTP API serves
   * FixRes bundles only for now; the CLI turns it on.
   */
  naflex?: boolean;
}

/** A request's images prepared for the towers: FixRes images at the model's size, or NaFlex patches. */
type Prepared = { kind: "fixres"; images: SizedImage[] } | { kind: "naflex"; images: NaFlexImage[] };

/** [B, D] row-major -> B separate vectors (copies, so the batch buffer can be freed). */
function splitRows(t: Tensor<"float32">): Float32Array[] {
  const B = t.dims[0] as number;
  const D = B === 0 ? 0 : t.data.length / B;
  return Array.from({ length: B }, (_, b) => t.data.slice(b * D, (b + 1) * D));
}

/** Batch outputs [b_i, D] -> one [sum b_i, D]. */
function concatRows(parts: readonly Tensor<"float32">[], D: number): Tensor<"float32"> {
  if (parts.length === 1) return parts[0] as Tensor<"float32">;
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return tensor("float32", [total / D, D], data);
}

export class ModelPipeline<T extends Towers = Towers> implements SiglipPipeline {
  readonly card: ModelCard;
  readonly logit: { logitScale: number; logitBias: number };
  readonly manifest: BundleManifest;
  readonly source: BundleSource;
  readonly towers: T;
  readonly #o: ModelPipelineOptions<T>;

  constructor(o: ModelPipelineOptions<T>) {
    this.#o = o;
    this.manifest = o.manifest;
    this.source = o.source;
    this.towers = o.towers;
    this.card = modelCard(o.manifest, o.runsOn ?? o.towers.runsOn, o.id, o.towers.backend);
    this.logit = { logitScale: o.manifest.logitScale, logitBias: o.manifest.logitBias };
  }

  /** Token ids per text, as the tokenizer gives them (`manifest.text.maxLength` each). */
  async tokenIds(texts: readonly string[], lowercase: LowercaseMode | undefined): Promise<Int32Array[]> {
    const tok = await this.#o.tokenizer();
    const maxLength = this.manifest.text.maxLength;
    return texts.map((t) => tok.encode(t, lowercase === undefined ? { maxLength } : { maxLength, lowercase }));
  }

  /**
   * Token id rows checked against the bundle (length, range; folded for tiny fixtures), and the tokens that are not
   * padding (the `usage` figure).
   */
  checkTokenIds(idRows: readonly Int32Array[]): { rows: Int32Array[]; tokens: number } {
    const m = this.manifest;
    const T = m.text.maxLength;
    const V = m.tokenTable.rows;
    let tokens = 0;
    const rows = idRows.map((ids) => {
      if (ids.length !== T) throw new SiglipError("INVALID_ARGUMENT", `got ${ids.length} token ids, the model needs ${T}`);
      for (const id of ids) if (id !== m.text.padId) tokens++;
      if (this.#o.foldTokenIds) return ids.map((id) => id % V);
      for (const id of ids) if (!(id >= 0 && id < V)) throw new SiglipError("INVALID_ARGUMENT", `token id ${id} is outside this bundle's table of ${V} rows`);
      return ids;
    });
    return { rows, tokens };
  }

  async embedTexts(texts: readonly string[], options: EmbedTextOptions = {}): Promise<TextEmbeddings> {
    return this.embedTokenIds(await this.tokenIds(texts, options.lowercase));
  }

  /** @param idRows one [T] int32 row per text, T = `manifest.text.maxLength` */
  async embedTokenIds(idRows: readonly Int32Array[]): Promise<TextEmbeddings> {
    const r = await this.runTokenIds(idRows);
    return { embeddings: splitRows(r.embeddings), tokens: r.tokens };
  }

  /** Encoded image files or images already at the model's size, to raw embeddings ([D] float32 each). */
  async embedImages(images: readonly ImageInput[]): Promise<Float32Array[]> {
    return splitRows(await this.runImages(images));
  }

  /** Text embeddings as one [B, D] tensor (what a tower Worker sends back), batch by batch through the towers. */
  async runTokenIds(idRows: readonly Int32Array[]): Promise<{ embeddings: Tensor<"float32">; tokens: number }> {
    const { rows, tokens } = this.checkTokenIds(idRows);
    const parts: Tensor<"float32">[] = [];
    const step = this.#o.maxTextBatch ?? this.towers.batch.text;
    for (let i = 0; i < rows.length; i += step) parts.push(await this.towers.text(rows.slice(i, i + step)));
    return { embeddings: concatRows(parts, this.manifest.sizes.embedDim), tokens };
  }

  /** Image embeddings as one [B, D] tensor, batch by batch: each batch prepared (decoded one image at a time), then run. */
  async runImages(images: readonly ImageInput[]): Promise<Tensor<"float32">> {
    const parts: Tensor<"float32">[] = [];
    const step = this.#o.maxImageBatch ?? this.towers.batch.image;
    for (let i = 0; i < images.length; i += step) {
      const p = await this.prepareImages(images.slice(i, i + step), i);
      if (p.kind === "fixres") parts.push(await this.towers.fixres(p.images));
      else {
        const pp = this.manifest.preprocessing;
        const naflex = this.towers.naflex?.bind(this.towers);
        if (naflex === undefined || pp.kind !== "naflex") throw new SiglipError("INVALID_ARGUMENT", `NaFlex bundles are not served by ${this.card.runsOn} yet (FixRes only)`);
        parts.push(await naflex(naflexBatchOf(p.images, { patchSize: pp.patchSize, maxNumPatches: pp.maxNumPatches })));
      }
    }
    return concatRows(parts, this.manifest.sizes.embedDim);
  }

  /**
   * Images to tower inputs, in order; an image that fails carries its position in the request
   * (`details.imageIndex`, counted from `first`).
   */
  async prepareImages(images: readonly ImageInput[], first = 0): Promise<Prepared> {
    const pp = this.manifest.preprocessing;
    const limits = this.#o.decodeLimits ? { limits: this.#o.decodeLimits } : {};
    if (pp.kind === "naflex") {
      if (this.#o.naflex !== true) throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served yet (FixRes only)");
      const out: NaFlexImage[] = [];
      for (const [b, image] of images.entries()) {
        try {
          if (!(image instanceof Uint8Array)) throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles take encoded images, not sized pixels");
          await this.#o.initDecoders?.();
          out.push(await preprocessNaFlexImage(image, { patchSize: pp.patchSize, maxNumPatches: pp.maxNumPatches, resample: pp.resample, ...limits }));
        } catch (err) {
          throw atImageIndex(err, first + b); // the API reports which input could not be decoded
        }
      }
      return { kind: "naflex", images: out };
    }
    const S = pp.imageSize;
    const out: SizedImage[] = [];
    for (const [b, image] of images.entries()) {
      try {
        if (image instanceof Uint8Array) {
          await this.#o.initDecoders?.();
          out.push(await preprocessFixResRgb(image, { size: S, resample: pp.resample, ...limits }));
        } else {
          if (image.width !== S || image.height !== S || image.channels !== 3 || image.data.length !== S * S * 3) {
            throw new SiglipError("INVALID_ARGUMENT", `a sized image must be ${S}x${S}x3 uint8 for this model, got ${image.width}x${image.height}x${image.channels} (${image.data.length} bytes)`);
          }
          out.push(image);
        }
      } catch (err) {
        throw atImageIndex(err, first + b);
      }
    }
    return { kind: "fixres", images: out };
  }

  /** Frees what the towers hold (engine sessions). */
  async close(): Promise<void> {
    await this.towers.close?.();
  }

  /** Stage 0 of the text tower (towers running stage 0 of a staged deployment): token ids in. */
  async tokenIdsToStage(idRows: readonly Int32Array[]): Promise<StageOutput> {
    return this.#staged().tokenIdsToStage(this.checkTokenIds(idRows).rows);
  }

  /** Stage 0 of the vision tower: images (encoded or sized) in, hidden states or embeddings out. */
  async imagesToStage(images: readonly ImageInput[]): Promise<StageOutput> {
    const staged = this.#staged();
    const p = await this.prepareImages(images);
    if (p.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served in stages yet");
    return staged.imagesToStage(p.images);
  }

  /** A later stage: the previous stage's hidden states [B, N, D] in. */
  continueStage(tower: StagedTower, hidden: Tensor): Promise<StageOutput> {
    return this.#staged().continueStage(tower, hidden);
  }

  #staged(): StagedTowers {
    if (!isStaged(this.towers)) throw new SiglipError("INVALID_ARGUMENT", `${this.card.id} runs on ${this.card.runsOn}, not in stages here`);
    return this.towers;
  }
}
