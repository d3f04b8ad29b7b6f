/**
 * The one `SiglipPipeline` over a bundle, wherever its towers run (towers.ts): texts to checked token ids, images to
 * model inputs (decoded and resized with packages/preprocess, FixRes or NaFlex as the manifest says), both cut into
 * the towers' batches, raw embeddings back. `openModel` (model-factory.ts) builds it; the CLI, `siglip serve`, the
 * Worker, its tower roles, the API Worker of a split deployment and the KServe path all run through it.
 * @module
 */
import { allowedPatchCounts, findCheckpoint, SiglipError, tensor, type BundleManifest, type Tensor } from "@siglip-edge/core";
import { preprocessFixResRgb, preprocessNaFlexRgb, type DecodeLimits } from "@siglip-edge/preprocess";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import type { BundleSource } from "./bundle-source.ts";
import { atImageIndex, type EmbedTextOptions, type ImageInput, type ImageOptions, type LowercaseMode, type ModelCard, type SiglipPipeline, type SizedImage, type TextEmbeddings } from "./pipeline.ts";
import { isStaged, patchGridOf, type PatchGrid, type StagedTower, type StagedTowers, type StageOutput, type Towers } from "./towers.ts";

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
    ...(m.preprocessing.kind === "fixres"
      ? { imageSize: m.preprocessing.imageSize }
      : { naflex: { patchSize: m.preprocessing.patchSize, defaultPatches: m.preprocessing.maxNumPatches, allowedPatches: allowedPatchCounts(m.preprocessing.maxNumPatches) } }),
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
}

/** A request's images prepared for the towers: resized to the model's S x S, or to their NaFlex grids for N patches. */
type Prepared = { kind: "fixres"; images: SizedImage[] } | { kind: "naflex"; images: SizedImage[]; maxNumPatches: number; grids: PatchGrid[] };

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
  async embedImages(images: readonly ImageInput[], options: ImageOptions = {}): Promise<Float32Array[]> {
    return splitRows(await this.runImages(images, options));
  }

  /**
   * The patch budget of a request: NaFlex, `maxNumPatches` if given (one of the card's `naflex.allowedPatches`) or
   * the bundle's default; FixRes: undefined (and `maxNumPatches` refused).
   * @throws `INVALID_ARGUMENT` with `details.param` "max_num_patches"
   */
  patchBudget(options: ImageOptions = {}): number | undefined {
    const n = options.maxNumPatches;
    const nf = this.card.naflex;
    const param = { details: { param: "max_num_patches" } };
    if (nf === undefined) {
      if (n !== undefined) throw new SiglipError("INVALID_ARGUMENT", `${this.card.id} is a FixRes model (${this.card.imageSize ?? "?"} px): max_num_patches applies to NaFlex models only`, param);
      return undefined;
    }
    if (n === undefined) return nf.defaultPatches;
    if (!nf.allowedPatches.includes(n)) throw new SiglipError("INVALID_ARGUMENT", `max_num_patches must be one of ${nf.allowedPatches.join(", ")} for ${this.card.id}, got ${n}`, param);
    return n;
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
  async runImages(images: readonly ImageInput[], options: ImageOptions = {}): Promise<Tensor<"float32">> {
    const parts: Tensor<"float32">[] = [];
    const step = this.#o.maxImageBatch ?? this.towers.batch.image;
    const budget = this.patchBudget(options); // checked before any image is decoded
    for (let i = 0; i < images.length; i += step) {
      const p = await this.prepareImages(images.slice(i, i + step), i, budget === undefined ? {} : { maxNumPatches: budget });
      parts.push(p.kind === "fixres" ? await this.towers.fixres(p.images) : await this.towers.naflex(p.images, p.maxNumPatches));
    }
    return concatRows(parts, this.manifest.sizes.embedDim);
  }

  /**
   * Images to tower inputs, in order: decoded and resized to the model's S x S (FixRes) or to their NaFlex grids for
   * the request's patch budget; sized images are checked. An image that fails carries its position in the request
   * (`details.imageIndex`, counted from `first`).
   */
  async prepareImages(images: readonly ImageInput[], first = 0, options: ImageOptions = {}): Promise<Prepared> {
    const pp = this.manifest.preprocessing;
    const limits = this.#o.decodeLimits ? { limits: this.#o.decodeLimits } : {};
    const budget = this.patchBudget(options);
    const out: SizedImage[] = [];
    const grids: PatchGrid[] = [];
    for (const [b, image] of images.entries()) {
      try {
        if (image instanceof Uint8Array) {
          await this.#o.initDecoders?.();
          out.push(pp.kind === "naflex" ? await preprocessNaFlexRgb(image, { patchSize: pp.patchSize, maxNumPatches: budget as number, resample: pp.resample, ...limits }) : await preprocessFixResRgb(image, { size: pp.imageSize, resample: pp.resample, ...limits }));
        } else {
          if (pp.kind === "fixres") {
            const S = pp.imageSize;
            if (image.width !== S || image.height !== S || image.channels !== 3 || image.data.length !== S * S * 3) {
              throw new SiglipError("INVALID_ARGUMENT", `a sized image must be ${S}x${S}x3 uint8 for this model, got ${image.width}x${image.height}x${image.channels} (${image.data.length} bytes)`);
            }
          }
          out.push(image);
        }
        if (pp.kind === "naflex") grids.push(patchGridOf(out[b] as SizedImage, pp.patchSize, budget as number));
      } catch (err) {
        throw atImageIndex(err, first + b); // the API reports which input could not be decoded
      }
    }
    return pp.kind === "naflex" ? { kind: "naflex", images: out, maxNumPatches: budget as number, grids } : { kind: "fixres", images: out };
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
  async imagesToStage(images: readonly ImageInput[], options: ImageOptions = {}): Promise<StageOutput> {
    const staged = this.#staged();
    const p = await this.prepareImages(images, 0, options);
    return p.kind === "fixres" ? staged.imagesToStage(p.images) : staged.imagesToStage(p.images, p.maxNumPatches);
  }

  /** A later stage: the previous stage's hidden states [B, N, D] in (NaFlex vision: with each image's patch grid). */
  continueStage(tower: StagedTower, hidden: Tensor, patchGrid?: readonly PatchGrid[]): Promise<StageOutput> {
    return this.#staged().continueStage(tower, hidden, patchGrid);
  }

  #staged(): StagedTowers {
    if (!isStaged(this.towers)) throw new SiglipError("INVALID_ARGUMENT", `${this.card.id} runs on ${this.card.runsOn}, not in stages here`);
    return this.towers;
  }
}
