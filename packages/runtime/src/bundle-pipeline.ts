/**
 * A `SiglipPipeline` over a bundle: the vision graph (`pixel_values` -> `pooler_output`) and the split text graph
 * (`inputs_embeds` -> `pooler_output`) with token rows read from the split table, so no engine ever holds the token
 * table. Sessions are created once, on first use (Workers cannot await I/O in global scope), and reused. Tokenizing
 * and image preprocessing are injected (model-factory.ts wires packages/tokenizer and packages/preprocess), which
 * keeps this module free of both and lets a role Worker load only the tower it serves.
 * @module
 */
import { findCheckpoint, SiglipError, tensor, type Tensor } from "@siglip-edge/core";
import { BufferPool } from "./buffer-pool.ts";
import type { BundleSource } from "./bundle-source.ts";
import { verifiedRead, verifyStreamed } from "./bundle-source.ts";
import type { EngineSession, InferenceEngine, ModelSource } from "./engine.ts";
import { fileDigest, type BundleManifest } from "@siglip-edge/core";
import { atImageIndex, type EmbedTextOptions, type ImageInput, type LowercaseMode, type ModelCard, type SiglipPipeline, type TextEmbeddings } from "./pipeline.ts";
import { TokenRowReader } from "./token-rows.ts";

export interface BundlePipelineOptions {
  engine: InferenceEngine;
  source: BundleSource;
  manifest: BundleManifest;
  /** One text to exactly `manifest.text.maxLength` token ids. */
  tokenize: (text: string, lowercase: LowercaseMode | undefined) => Int32Array | Promise<Int32Array>;
  /**
   * One image (encoded, or already S x S uint8) to FixRes pixel values, written into `out`.
   * @param out [3, S, S] float32 (a slice of the batch buffer)
   */
  pixels: (image: ImageInput, out: Float32Array) => Promise<void>;
  /** Shown in `/v1/models`, e.g. `workerd: onnxruntime-web (wasm, 1 thread)`. */
  runsOn: string;
  /** Id to serve the model under; default the manifest's checkpoint id. */
  id?: string;
  /**
   * Tiny random-weight fixtures only: their token table has fewer rows than the real tokenizer's vocabulary, so ids
   * are reduced modulo the row count. Never set for real checkpoints (it would silently change the text).
   */
  foldTokenIds?: boolean;
  /** Largest batch per graph run (bounds activation memory in a 128 MB isolate). */
  maxTextBatch?: number;
  maxImageBatch?: number;
  /** Check size and sha256 of each graph file before loading (default true). */
  verify?: boolean;
  threads?: number;
  /** ORT CPU memory arena (default on); see `SessionConfig.memArena`. */
  memArena?: boolean;
  /**
   * The stage this pipeline runs in a staged deployment (a bundle converted with `--stages K`): each stage of a
   * tower is its own Worker, so an isolate holds about 1/K of the tower's weights. Unset: whole towers.
   */
  stage?: number;
}

/** The towers a bundle can split into stages (manifest `stages` keys). */
export type StagedTower = "vision" | "textSplit";

/**
 * What one stage returns: hidden states for the next stage, or, from the last stage, the raw embeddings. Hidden
 * states may sit in a buffer the pipeline reuses: call `release` once they have been sent (after that they may be
 * overwritten by the next run).
 */
export type StageOutput =
  | { kind: "hidden"; hidden: Tensor; tokens?: number; release?: () => void }
  | { kind: "embeddings"; embeddings: Float32Array[]; tokens?: number };

/** The graph a call runs, the output it reads, and the external-data file the graph names (a stage's: its tower's). */
interface GraphChoice {
  graph: string;
  out: string;
  data?: string;
}

/** Inputs and outputs of stage graphs (packages/export `STAGE_INPUT` / `STAGE_OUTPUT`). */
const STAGE_IN = "hidden_states";
const STAGE_OUT = "hidden_states_out";

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

export function modelCard(m: BundleManifest, runsOn: string, id?: string): ModelCard {
  return {
    id: id ?? m.checkpoint.id,
    family: m.family,
    size: sizeLabel(m),
    revision: revisionOf(m),
    embedDim: m.sizes.embedDim,
    runsOn,
    quantization: m.dtype,
  };
}

export class BundlePipeline implements SiglipPipeline {
  readonly card: ModelCard;
  readonly logit: { logitScale: number; logitBias: number };
  readonly rows: TokenRowReader;
  readonly #o: BundlePipelineOptions;
  readonly #sessions = new Map<string, Promise<EngineSession>>();
  /**
   * Per-run arrays reused between runs (pixels, token embeddings, and stage outputs where the engine fills given
   * outputs): an edge tower serves one request at a time, and a fresh 0.2-2.4 MiB array per run would sit as garbage
   * until V8 collects it (BENCHMARKS.md).
   */
  readonly #pool = new BufferPool();

  constructor(options: BundlePipelineOptions) {
    this.#o = options;
    const m = options.manifest;
    this.card = modelCard(m, options.runsOn, options.id);
    this.logit = { logitScale: m.logitScale, logitBias: m.logitBias };
    this.rows = new TokenRowReader(options.source, {
      path: m.tokenTable.file,
      rows: m.tokenTable.rows,
      dim: m.tokenTable.dim,
      dtype: m.tokenTable.dtype,
      scales: m.tokenTable.scales,
    });
  }

  /** @param dataPath the external-data file the graph names (a stage graph reads its tower's file) */
  async #modelSource(graph: string, dataPath = `${graph}.data`): Promise<ModelSource> {
    const { source, manifest, engine } = this.#o;
    const verify = this.#o.verify !== false;
    const hasData = manifest.files.some((f) => f.path === dataPath);
    if (engine.name === "onnxruntime-node" && source.localPath !== undefined) {
      if (verify) {
        await verifiedRead(source, graph, fileDigest(manifest, graph));
        if (hasData) await verifiedRead(source, dataPath, fileDigest(manifest, dataPath));
      }
      return { kind: "path", path: source.localPath(graph) };
    }
    const read = (p: string) => (verify ? verifiedRead(source, p, fileDigest(manifest, p)) : source.read(p));
    const graphBytes = await read(graph);
    if (!hasData) return { kind: "bytes", graph: graphBytes };
    const stream = source.stream?.bind(source);
    if (engine.streamsExternalData && stream !== undefined) {
      // Streamed: the weights are checked in one streaming pass, then ORT reads each tensor's range on its own.
      const digest = fileDigest(manifest, dataPath);
      if (verify) await verifyStreamed(source, dataPath, digest);
      return { kind: "bytes", graph: graphBytes, externalData: [{ path: dataPath, data: { size: digest.size, openRange: (offset, length) => stream(dataPath, { offset, length }) } }] };
    }
    return { kind: "bytes", graph: graphBytes, externalData: [{ path: dataPath, data: await read(dataPath) }] };
  }

  /** The session for a graph, created on first use and shared by concurrent callers. */
  session(graph: string, dataPath?: string): Promise<EngineSession> {
    let s = this.#sessions.get(graph);
    if (s === undefined) {
      s = (async () => this.#o.engine.createSession(await this.#modelSource(graph, dataPath), { disablePrepacking: true, threads: this.#o.threads ?? 1, ...(this.#o.memArena === false ? { memArena: false } : {}) }))();
      s.catch(() => this.#sessions.delete(graph)); // a failed load may be retried by a later request
      this.#sessions.set(graph, s);
    }
    return s;
  }

  /** Token ids per text, as the tokenizer gives them. */
  async tokenIds(texts: readonly string[], lowercase: LowercaseMode | undefined): Promise<Int32Array[]> {
    const out: Int32Array[] = [];
    for (const t of texts) out.push(await this.#o.tokenize(t, lowercase));
    return out;
  }

  async embedTexts(texts: readonly string[], options: EmbedTextOptions = {}): Promise<TextEmbeddings> {
    return this.embedTokenIds(await this.tokenIds(texts, options.lowercase));
  }

  /**
   * Text embeddings from token ids (validated; folded for tiny fixtures). The text role of a split deployment gets
   * ids from the API role, so it never loads the 14 MB tokenizer.
   * @param idRows one [T] int32 row per text, T = `manifest.text.maxLength`
   */
  async embedTokenIds(idRows: readonly Int32Array[]): Promise<TextEmbeddings> {
    this.#wholeTowers();
    const { data, dims, tokens } = await this.#runText(idRows, this.#graphFor("textSplit", 0));
    return { embeddings: splitRows(data, dims[0] as number), tokens };
  }

  async embedImages(images: readonly ImageInput[]): Promise<Float32Array[]> {
    this.#wholeTowers();
    const { data, dims } = await this.#runImages(images, this.#graphFor("vision", 0));
    return splitRows(data, dims[0] as number);
  }

  /** Stage 0 of the text tower (this pipeline's `stage` must be 0): token ids in, hidden states or embeddings out. */
  async tokenIdsToStage(idRows: readonly Int32Array[]): Promise<StageOutput> {
    const g = this.#graphFor("textSplit", this.#stageIndex(0));
    const r = await this.#runText(idRows, g);
    return stageOutput(g.out, r, r.tokens);
  }

  /** Stage 0 of the vision tower: images (encoded or sized) in, hidden states or embeddings out. */
  async imagesToStage(images: readonly ImageInput[]): Promise<StageOutput> {
    const g = this.#graphFor("vision", this.#stageIndex(0));
    const r = await this.#runImages(images, g);
    return stageOutput(g.out, r);
  }

  /**
   * A later stage (this pipeline's `stage` >= 1): the previous stage's hidden states in.
   * @param hidden [B, N, D] float32
   */
  async continueStage(tower: StagedTower, hidden: Tensor): Promise<StageOutput> {
    const k = this.#o.stage;
    if (k === undefined || k < 1) throw new SiglipError("INVALID_ARGUMENT", "this Worker does not run a later stage (STAGE must be >= 1)");
    const { graph, out, data } = this.#graphFor(tower, k);
    const D = tower === "vision" ? this.#o.manifest.sizes.vision.hiddenSize : this.#o.manifest.tokenTable.dim;
    if (hidden.dtype !== "float32" || hidden.dims.length !== 3 || hidden.dims[2] !== D || hidden.data.length !== hidden.dims.reduce((a, b) => a * b, 1)) {
      throw new SiglipError("INVALID_ARGUMENT", `stage input must be float32 [B, N, ${D}], got ${hidden.dtype} [${hidden.dims.join(", ")}]`);
    }
    const session = await this.session(graph, data);
    return stageOutput(out, this.#batch([await this.#run(session, { [STAGE_IN]: hidden }, out, hidden.dims)]));
  }

  /**
   * One graph run. Hidden states of a stage go into a pooled buffer when the engine fills given outputs (`pooled`:
   * the caller gives it back); other outputs are the engine's own arrays.
   * @param hiddenDims [B, N, D] of the hidden states a stage graph returns
   */
  async #run(session: EngineSession, feeds: Record<string, Tensor>, out: string, hiddenDims: readonly number[]): Promise<RunPart> {
    if (out !== STAGE_OUT || !this.#o.engine.fillsOutputs) return { t: (await session.run(feeds, [out]))[out] as Tensor, pooled: false };
    const buf = this.#pool.take(hiddenDims.reduce((a, b) => a * b, 1));
    let t: Tensor;
    try {
      t = (await session.run(feeds, [out], { [out]: tensor("float32", [...hiddenDims], buf) }))[out] as Tensor;
    } catch (err) {
      this.#pool.give(buf);
      throw err;
    }
    if (t.data === buf) return { t, pooled: true };
    this.#pool.give(buf); // the engine answered with its own array after all
    return { t, pooled: false };
  }

  /** Chunk outputs as one batch; pooled chunks that had to be copied go back to the pool at once. */
  #batch(parts: readonly RunPart[]): Batch {
    const first = parts[0];
    if (parts.length === 1 && first !== undefined) {
      const data = first.t.data as Float32Array;
      return { data, dims: [...first.t.dims], ...(first.pooled ? { release: () => this.#pool.give(data) } : {}) };
    }
    const joined = concatBatch(parts.map((p) => p.t));
    for (const p of parts) if (p.pooled) this.#pool.give(p.t.data as Float32Array);
    return joined;
  }

  #wholeTowers(): void {
    if (this.#o.stage !== undefined) throw new SiglipError("INVALID_ARGUMENT", `this Worker runs stage ${this.#o.stage} of a staged deployment, not whole towers`);
  }

  #stageIndex(expected: number): number {
    const k = this.#o.stage;
    if (k !== expected) throw new SiglipError("INVALID_ARGUMENT", `this Worker runs stage ${String(k)}, not stage ${expected}`);
    return k;
  }

  /** The graph to run for a tower: the whole tower, or stage `k` of it (reading the tower's data file). */
  #graphFor(tower: StagedTower, k: number): GraphChoice {
    const m = this.#o.manifest;
    const whole = tower === "vision" ? m.graphs.vision : m.graphs.textSplit;
    if (this.#o.stage === undefined) return { graph: whole, out: "pooler_output" };
    const list = m.stages?.[tower];
    if (list === undefined || list.length < 2) throw new SiglipError("MODEL_LOAD_FAILED", `${this.card.id}: the bundle has no stage graphs (convert it with --stages K)`);
    const graph = list[k];
    if (graph === undefined) throw new SiglipError("MODEL_LOAD_FAILED", `${this.card.id}: stage ${k} of ${tower} does not exist (the bundle has ${list.length})`);
    return { graph, out: k === list.length - 1 ? "pooler_output" : STAGE_OUT, data: `${whole}.data` };
  }

  /** Token id rows through a text graph (whole or stage 0), in batches; outputs concatenated along the batch. */
  async #runText(idRows: readonly Int32Array[], g: GraphChoice): Promise<Batch & { tokens: number }> {
    const { manifest, foldTokenIds } = this.#o;
    const T = manifest.text.maxLength;
    const D = manifest.tokenTable.dim;
    const V = manifest.tokenTable.rows;
    const all = idRows.map((ids) => {
      if (ids.length !== T) throw new SiglipError("INVALID_ARGUMENT", `got ${ids.length} token ids, the model needs ${T}`);
      if (foldTokenIds) return ids.map((id) => id % V);
      for (const id of ids) if (!(id >= 0 && id < V)) throw new SiglipError("INVALID_ARGUMENT", `token id ${id} is outside this bundle's table of ${V} rows`);
      return ids;
    });
    let tokens = 0;
    for (const ids of all) for (const id of ids) if (id !== manifest.text.padId) tokens++;
    const session = await this.session(g.graph, g.data);
    const parts: RunPart[] = [];
    const step = this.#o.maxTextBatch ?? 16;
    for (let i = 0; i < all.length; i += step) {
      const chunk = all.slice(i, i + step);
      const B = chunk.length;
      const ids = new Int32Array(B * T);
      chunk.forEach((r, b) => ids.set(r, b * T));
      const embeds = this.#pool.take(B * T * D);
      try {
        await this.rows.embed(ids, B, T, embeds); // [B, T, D]
        parts.push(await this.#run(session, { inputs_embeds: tensor("float32", [B, T, D], embeds) }, g.out, [B, T, D]));
      } finally {
        this.#pool.give(embeds);
      }
    }
    return { ...this.#batch(parts), tokens };
  }

  /** Images through a FixRes vision graph (whole or stage 0), in batches. */
  async #runImages(images: readonly ImageInput[], g: GraphChoice): Promise<Batch> {
    const { manifest } = this.#o;
    if (manifest.preprocessing.kind !== "fixres") {
      throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served by this runtime yet (FixRes only)");
    }
    const S = manifest.preprocessing.imageSize;
    const { patchSize: P, hiddenSize: D } = manifest.sizes.vision;
    const N = (S / P) ** 2; // patches: SigLIP has no class token
    const session = await this.session(g.graph, g.data);
    const parts: RunPart[] = [];
    const step = this.#o.maxImageBatch ?? 4;
    for (let i = 0; i < images.length; i += step) {
      const chunk = images.slice(i, i + step);
      const B = chunk.length;
      const n = 3 * S * S;
      // Taken from the pool (a concurrent run of the same length allocates its own) and given back after the run.
      const px = this.#pool.take(B * n);
      try {
        for (let b = 0; b < B; b++) {
          try {
            await this.#o.pixels(chunk[b] as ImageInput, px.subarray(b * n, (b + 1) * n));
          } catch (err) {
            throw atImageIndex(err, i + b); // the API reports which input could not be decoded
          }
        }
        parts.push(await this.#run(session, { pixel_values: tensor("float32", [B, 3, S, S], px) }, g.out, [B, N, D]));
      } finally {
        this.#pool.give(px);
      }
    }
    return this.#batch(parts);
  }
}

/** One chunk's output, and whether it sits in a pooled buffer. */
interface RunPart {
  t: Tensor;
  pooled: boolean;
}

/** A call's output over all its chunks; `release` gives a pooled buffer back. */
interface Batch {
  data: Float32Array;
  dims: number[];
  release?: () => void;
}

function stageOutput(out: string, b: Batch, tokens?: number): StageOutput {
  const t = tokens === undefined ? {} : { tokens };
  if (out === "pooler_output") {
    const embeddings = splitRows(b.data, b.dims[0] as number);
    b.release?.();
    return { kind: "embeddings", embeddings, ...t };
  }
  return { kind: "hidden", hidden: tensor("float32", [...b.dims], b.data), ...t, ...(b.release ? { release: b.release } : {}) };
}

/** Batch-chunk outputs [b_i, ...] -> one [sum b_i, ...] float32 array. */
function concatBatch(parts: readonly Tensor[]): { data: Float32Array; dims: number[] } {
  const first = parts[0];
  if (first === undefined) return { data: new Float32Array(0), dims: [0] };
  if (parts.length === 1) return { data: first.data as Float32Array, dims: [...first.dims] };
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { data, dims: [parts.reduce((a, p) => a + (p.dims[0] as number), 0), ...first.dims.slice(1)] };
}

/** [B, D] row-major -> B separate vectors (copies, so the batch buffer can be freed). */
function splitRows(data: Float32Array, B: number): Float32Array[] {
  const D = data.length / B;
  return Array.from({ length: B }, (_, b) => data.slice(b * D, (b + 1) * D));
}
