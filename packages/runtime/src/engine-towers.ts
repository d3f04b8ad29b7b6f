/**
 * A bundle's towers on an `InferenceEngine` in this process: the vision graph (`pixel_values` -> `pooler_output`,
 * FixRes or NaFlex) and the split text graph (`inputs_embeds` -> `pooler_output`) with token rows read from the split
 * table, so no engine ever holds the token table (or, with `textGraph: "text"`, the text graph with the table inside,
 * `input_ids` -> `pooler_output`, as a KServe backend serves it). Sessions are created once, on first use (Workers
 * cannot await I/O in global scope), and reused; how a graph reaches the engine follows the engine's capability flags
 * (`loads`, `streamsExternalData`, `fillsOutputs`), never its name. In a staged deployment (`stage`), the towers run
 * one stage graph per Worker.
 * @module
 */
import { fileDigest, SiglipError, tensor, type BundleManifest, type Tensor } from "@siglip-edge/core";
import { fixresPixels, type NaFlexBatch } from "@siglip-edge/preprocess";
import { BufferPool } from "./buffer-pool.ts";
import { verifiedRead, verifyStreamed } from "./bundle-source.ts";
import type { EngineSession, InferenceEngine, ModelSource } from "./engine.ts";
import { naflexInputs, naflexPositionEmbeddings, readPositionGrid } from "./naflex.ts";
import type { SizedImage } from "./pipeline.ts";
import { TokenRowReader } from "./token-rows.ts";
import { EDGE_BATCH, patchMask, type PatchGrid, type StagedTower, type StagedTowers, type StageOutput, type TowerContext, type Towers, type TowersFactory } from "./towers.ts";

export interface EngineTowerOptions {
  /** Check size and sha256 of each graph file (and the NaFlex position grid) before loading (default true). */
  verify?: boolean;
  /** Intra-op threads (onnxruntime-node). */
  threads?: number;
  /** ORT CPU memory arena (default on); see `SessionConfig.memArena`. */
  memArena?: boolean;
  /**
   * The stage these towers run in a staged deployment (a bundle converted with `--stages K`): each stage of a tower
   * is its own Worker, so an isolate holds about 1/K of the tower's weights. Unset: whole towers.
   */
  stage?: number;
  /**
   * The text graph: `textSplit` (default; rows from the split table, what the edge runs) or `text` (the token table
   * inside the graph, `input_ids` in: what a KServe backend serves; needs the whole table in the engine).
   */
  textGraph?: "textSplit" | "text";
}

/**
 * Towers on `engine`, for `openModel({ towers: engineTowers(engine, options) })`. Given a list, the towers run on the
 * first engine that supports the bundle (`InferenceEngine.supports`; an engine without it supports every bundle),
 * e.g. `[kernelsEngine, webEngine]`: the kernels for int8 bundles with kernels files, onnxruntime otherwise.
 */
export function engineTowers(engine: InferenceEngine | readonly InferenceEngine[], options: EngineTowerOptions = {}): TowersFactory<EngineTowers> {
  return (bundle) => new EngineTowers(pickEngine(bundle.manifest, engine), bundle, options);
}

/** The first of `engines` that supports the bundle; MODEL_LOAD_FAILED naming them when none does. */
export function pickEngine(manifest: BundleManifest, engines: InferenceEngine | readonly InferenceEngine[]): InferenceEngine {
  const list: readonly InferenceEngine[] = Array.isArray(engines) ? engines : [engines as InferenceEngine];
  const e = list.find((x) => x.supports?.(manifest) !== false);
  if (e === undefined) throw new SiglipError("MODEL_LOAD_FAILED", `none of ${list.map((x) => x.name).join(", ")} runs this ${manifest.dtype} bundle`);
  return e;
}

/** The graph a call runs, the output it reads, and the external-data file the graph names (a stage's: its tower's). */
interface GraphChoice {
  graph: string;
  out: string;
  data?: string;
}

/** One run's output, and whether it sits in a pooled buffer. */
interface RunPart {
  t: Tensor<"float32">;
  pooled: boolean;
}

/** Inputs and outputs of stage graphs (packages/export `STAGE_INPUT` / `STAGE_OUTPUT`). */
const STAGE_IN = "hidden_states";
const STAGE_OUT = "hidden_states_out";
const POOLED = "pooler_output";

export class EngineTowers implements Towers, StagedTowers {
  readonly engine: InferenceEngine;
  readonly runsOn: string;
  readonly batch = EDGE_BATCH;
  readonly stage: number | undefined;
  readonly rows: TokenRowReader;
  readonly #bundle: TowerContext;
  readonly #o: EngineTowerOptions;
  readonly #sessions = new Map<string, Promise<EngineSession>>();
  #grid: Promise<Float32Array> | undefined;
  /**
   * Per-run arrays reused between runs (pixels, token embeddings, and stage outputs where the engine fills given
   * outputs): an edge tower serves one request at a time, and a fresh 0.2-2.4 MiB array per run would sit as garbage
   * until V8 collects it (BENCHMARKS.md).
   */
  readonly #pool = new BufferPool();
  /**
   * NaFlex inputs (patches and position embeddings), pooled apart: at B/16 both have the length of the hidden states
   * (N x 768), so in `#pool` three arrays of one length would evict each other, leaving garbage per request.
   */
  readonly #naflexPool = new BufferPool(32 * 2 ** 20);

  constructor(engine: InferenceEngine, bundle: TowerContext, options: EngineTowerOptions = {}) {
    this.engine = engine;
    this.#bundle = bundle;
    this.#o = options;
    this.stage = options.stage;
    this.runsOn = engine.name;
    const t = bundle.manifest.tokenTable;
    this.rows = new TokenRowReader(bundle.source, { path: t.file, rows: t.rows, dim: t.dim, dtype: t.dtype, scales: t.scales });
  }

  /** How `graph` reaches the engine: the first kind in the engine's `loads` that the bundle source can provide. */
  async #modelSource(graph: string, dataPath = `${graph}.data`): Promise<ModelSource> {
    const { source, manifest } = this.#bundle;
    const verify = this.#o.verify !== false;
    const hasData = manifest.files.some((f) => f.path === dataPath);
    const read = (p: string) => (verify ? verifiedRead(source, p, fileDigest(manifest, p)) : source.read(p));
    for (const kind of this.engine.loads) {
      if (kind === "bundle") return { kind, source, manifest, graph, data: dataPath };
      if (kind === "path" && source.localPath !== undefined) {
        if (verify) {
          await read(graph);
          if (hasData) await read(dataPath);
        }
        return { kind, path: source.localPath(graph) };
      }
      if (kind !== "bytes") continue;
      const graphBytes = await read(graph);
      if (!hasData) return { kind, graph: graphBytes };
      const stream = source.stream?.bind(source);
      if (this.engine.streamsExternalData && stream !== undefined) {
        // Streamed: the weights are checked in one streaming pass, then the engine reads each tensor's range on its own.
        const digest = fileDigest(manifest, dataPath);
        if (verify) await verifyStreamed(source, dataPath, digest);
        return { kind, graph: graphBytes, externalData: [{ path: dataPath, data: { size: digest.size, openRange: (offset, length) => stream(dataPath, { offset, length }) } }] };
      }
      return { kind, graph: graphBytes, externalData: [{ path: dataPath, data: await read(dataPath) }] };
    }
    throw new SiglipError("MODEL_LOAD_FAILED", `${this.engine.name} loads models from ${this.engine.loads.join(", ")}; ${source.location} offers none of them`);
  }

  /** The session for a graph, created on first use and shared by concurrent callers. */
  session(graph: string, dataPath?: string): Promise<EngineSession> {
    let s = this.#sessions.get(graph);
    if (s === undefined) {
      s = (async () => this.engine.createSession(await this.#modelSource(graph, dataPath), { disablePrepacking: true, threads: this.#o.threads ?? 1, ...(this.#o.memArena === false ? { memArena: false } : {}) }))();
      s.catch(() => this.#sessions.delete(graph)); // a failed load may be retried by a later request
      this.#sessions.set(graph, s);
    }
    return s;
  }

  /** Releases every session (a CLI run's end; a bench between bundles). */
  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const s of sessions) await (await s.catch(() => undefined))?.release();
  }

  async text(ids: readonly Int32Array[]): Promise<Tensor<"float32">> {
    this.#wholeTowers();
    if (this.#o.textGraph === "text") return this.#runInlineText(ids);
    return (await this.#runText(ids, this.#graphFor("textSplit", 0))).t;
  }

  async fixres(images: readonly SizedImage[]): Promise<Tensor<"float32">> {
    this.#wholeTowers();
    return (await this.#runSized(images, this.#graphFor("vision", 0))).t;
  }

  /**
   * FixRes `pixel_values` as they are (the reference's own inputs in parity checks and benchmarks).
   * @param pixelValues [B, 3, S, S] float32
   */
  async pixelValues(pixelValues: Tensor<"float32">): Promise<Tensor<"float32">> {
    this.#wholeTowers();
    const S = this.#fixresSize();
    const [B] = pixelValues.dims as [number];
    if (pixelValues.dims.length !== 4 || pixelValues.dims[1] !== 3 || pixelValues.dims[2] !== S || pixelValues.dims[3] !== S) {
      throw new SiglipError("INVALID_ARGUMENT", `pixel_values must be [B, 3, ${S}, ${S}], got [${pixelValues.dims.join(", ")}]`);
    }
    const { graph, out } = this.#graphFor("vision", 0);
    const { patchSize: P, hiddenSize: D } = this.#bundle.manifest.sizes.vision;
    return (await this.#run(await this.session(graph), { pixel_values: pixelValues }, out, [B, (S / P) ** 2, D])).t;
  }

  /** NaFlex images resized to their grids (`preprocessNaFlexRgb`): patches, mask and position embeddings, then the tower. */
  async naflex(images: readonly SizedImage[], maxNumPatches: number): Promise<Tensor<"float32">> {
    this.#wholeTowers();
    return (await this.#runNaFlex(images, maxNumPatches, this.#graphFor("vision", 0))).t;
  }

  /**
   * NaFlex model inputs as they are (`naflexBatchOf`: the reference's own patches in parity checks), with position
   * embeddings resized from the bundle's grid per image.
   */
  async naflexBatch(batch: NaFlexBatch): Promise<Tensor<"float32">> {
    this.#wholeTowers();
    const pg = this.#naflexGrid();
    const [B, N, K] = batch.pixelValues.dims as [number, number, number];
    const sd = batch.spatialShapes.data;
    const shapes = Array.from({ length: B }, (_, b) => [Number(sd[2 * b]), Number(sd[2 * b + 1])] as const);
    const pos = naflexPositionEmbeddings(await this.#positionGrid(), pg.side, pg.dim, shapes, N); // [B, N, D]
    const { graph, out } = this.#graphFor("vision", 0);
    const feeds = {
      pixel_values: tensor("float32", [B, N, K], batch.pixelValues.data),
      pixel_attention_mask: tensor("int64", [B, N], BigInt64Array.from(batch.pixelAttentionMask.data, (v) => BigInt(v))),
      position_embeddings: tensor("float32", [B, N, pg.dim], pos),
    };
    return (await this.#run(await this.session(graph), feeds, out, [B, N, pg.dim])).t;
  }

  async tokenIdsToStage(ids: readonly Int32Array[]): Promise<StageOutput> {
    const g = this.#graphFor("textSplit", this.#stageIndex(0));
    return this.#stageOutput(g.out, await this.#runText(ids, g));
  }

  async imagesToStage(images: readonly SizedImage[], maxNumPatches?: number): Promise<StageOutput> {
    const g = this.#graphFor("vision", this.#stageIndex(0));
    if (this.#bundle.manifest.preprocessing.kind === "naflex") {
      if (maxNumPatches === undefined) throw new SiglipError("INVALID_ARGUMENT", "NaFlex images need their patch budget (maxNumPatches)");
      return this.#stageOutput(g.out, await this.#runNaFlex(images, maxNumPatches, g));
    }
    return this.#stageOutput(g.out, await this.#runSized(images, g));
  }

  /**
   * @param hidden [B, N, D] float32
   * @param patchGrid NaFlex vision stages: each image's (h, w), for the key mask
   */
  async continueStage(tower: StagedTower, hidden: Tensor, patchGrid?: readonly PatchGrid[]): Promise<StageOutput> {
    const k = this.stage;
    if (k === undefined || k < 1) throw new SiglipError("INVALID_ARGUMENT", "this Worker does not run a later stage (STAGE must be >= 1)");
    const { graph, out, data } = this.#graphFor(tower, k);
    const D = tower === "vision" ? this.#bundle.manifest.sizes.vision.hiddenSize : this.#bundle.manifest.tokenTable.dim;
    if (hidden.dtype !== "float32" || hidden.dims.length !== 3 || hidden.dims[2] !== D || hidden.data.length !== hidden.dims.reduce((a, b) => a * b, 1)) {
      throw new SiglipError("INVALID_ARGUMENT", `stage input must be float32 [B, N, ${D}], got ${hidden.dtype} [${hidden.dims.join(", ")}]`);
    }
    const session = await this.session(graph, data);
    const feeds: Record<string, Tensor> = { [STAGE_IN]: hidden };
    if (tower === "vision" && this.#bundle.manifest.preprocessing.kind === "naflex") {
      const [B, N] = hidden.dims as [number, number];
      if (patchGrid === undefined || patchGrid.length !== B || patchGrid.some(([h, w]) => !(Number.isInteger(h) && Number.isInteger(w) && h >= 1 && w >= 1 && h * w <= N))) {
        throw new SiglipError("INVALID_ARGUMENT", `a NaFlex vision stage needs one patch grid (h, w) with h·w <= ${N} per image (${B})`);
      }
      feeds["pixel_attention_mask"] = tensor("int64", [B, N], patchMask(patchGrid, N));
    }
    return this.#stageOutput(out, await this.#run(session, feeds, out, hidden.dims));
  }

  /**
   * One graph run. Hidden states of a stage go into a pooled buffer when the engine fills given outputs (`pooled`:
   * the caller gives it back); other outputs are the engine's own arrays.
   * @param hiddenDims [B, N, D] of the hidden states a stage graph returns
   */
  async #run(session: EngineSession, feeds: Record<string, Tensor>, out: string, hiddenDims: readonly number[]): Promise<RunPart> {
    if (out !== STAGE_OUT || !this.engine.fillsOutputs) return { t: (await session.run(feeds, [out]))[out] as Tensor<"float32">, pooled: false };
    const buf = this.#pool.take(hiddenDims.reduce((a, b) => a * b, 1));
    let t: Tensor<"float32">;
    try {
      t = (await session.run(feeds, [out], { [out]: tensor("float32", [...hiddenDims], buf) }))[out] as Tensor<"float32">;
    } catch (err) {
      this.#pool.give(buf);
      throw err;
    }
    if (t.data === buf) return { t, pooled: true };
    this.#pool.give(buf); // the engine answered with its own array after all
    return { t, pooled: false };
  }

  #stageOutput(out: string, part: RunPart): StageOutput {
    if (out === POOLED) return { kind: "embeddings", embeddings: part.t };
    const data = part.t.data;
    return { kind: "hidden", hidden: part.t, ...(part.pooled ? { release: () => this.#pool.give(data) } : {}) };
  }

  #wholeTowers(): void {
    if (this.stage !== undefined) throw new SiglipError("INVALID_ARGUMENT", `this Worker runs stage ${this.stage} of a staged deployment, not whole towers`);
  }

  #stageIndex(expected: number): number {
    const k = this.stage;
    if (k !== expected) throw new SiglipError("INVALID_ARGUMENT", `this Worker runs stage ${String(k)}, not stage ${expected}`);
    return k;
  }

  /** The graph to run for a tower: the whole tower, or stage `k` of it (reading the tower's data file). */
  #graphFor(tower: StagedTower, k: number): GraphChoice {
    const m = this.#bundle.manifest;
    const whole = tower === "vision" ? m.graphs.vision : m.graphs.textSplit;
    if (this.stage === undefined) return { graph: whole, out: POOLED };
    const list = m.stages?.[tower];
    if (list === undefined || list.length < 2) throw new SiglipError("MODEL_LOAD_FAILED", `${this.#bundle.id}: the bundle has no stage graphs (convert it with --stages K)`);
    const graph = list[k];
    if (graph === undefined) throw new SiglipError("MODEL_LOAD_FAILED", `${this.#bundle.id}: stage ${k} of ${tower} does not exist (the bundle has ${list.length})`);
    return { graph, out: k === list.length - 1 ? POOLED : STAGE_OUT, data: `${whole}.data` };
  }

  /** Token id rows through a split text graph (whole or stage 0): rows gathered from the table into a pooled buffer. */
  async #runText(idRows: readonly Int32Array[], g: GraphChoice): Promise<RunPart> {
    const { manifest } = this.#bundle;
    const T = manifest.text.maxLength;
    const D = manifest.tokenTable.dim;
    const B = idRows.length;
    const session = await this.session(g.graph, g.data);
    const ids = new Int32Array(B * T);
    idRows.forEach((r, b) => ids.set(r, b * T));
    const embeds = this.#pool.take(B * T * D);
    try {
      await this.rows.embed(ids, B, T, embeds); // [B, T, D]
      return await this.#run(session, { inputs_embeds: tensor("float32", [B, T, D], embeds) }, g.out, [B, T, D]);
    } finally {
      this.#pool.give(embeds);
    }
  }

  /** Token id rows through the text graph with the table inside (`input_ids` int64 [B, T]). */
  async #runInlineText(idRows: readonly Int32Array[]): Promise<Tensor<"float32">> {
    const T = this.#bundle.manifest.text.maxLength;
    const ids = new BigInt64Array(idRows.length * T);
    idRows.forEach((r, b) => r.forEach((id, t) => (ids[b * T + t] = BigInt(id))));
    const session = await this.session(this.#bundle.manifest.graphs.text);
    return (await session.run({ input_ids: tensor("int64", [idRows.length, T], ids) }, [POOLED]))[POOLED] as Tensor<"float32">;
  }

  /** Sized FixRes images through the vision graph (whole or stage 0): the pixel table into a pooled buffer. */
  async #runSized(images: readonly SizedImage[], g: GraphChoice): Promise<RunPart> {
    const S = this.#fixresSize();
    const { patchSize: P, hiddenSize: D } = this.#bundle.manifest.sizes.vision;
    const B = images.length;
    const n = 3 * S * S;
    const session = await this.session(g.graph, g.data);
    // Taken from the pool (a concurrent run of the same length allocates its own) and given back after the run.
    const px = this.#pool.take(B * n);
    try {
      images.forEach((img, b) => fixresPixels(img, { size: S }, px.subarray(b * n, (b + 1) * n)));
      return await this.#run(session, { pixel_values: tensor("float32", [B, 3, S, S], px) }, g.out, [B, (S / P) ** 2, D]); // SigLIP has no class token
    } finally {
      this.#pool.give(px);
    }
  }

  /** Sized NaFlex images through the vision graph (whole or stage 0): patches and positions into pooled buffers. */
  async #runNaFlex(images: readonly SizedImage[], N: number, g: GraphChoice): Promise<RunPart> {
    const pg = this.#naflexGrid();
    const m = this.#bundle.manifest;
    const K = m.sizes.vision.patchSize ** 2 * 3;
    const B = images.length;
    const session = await this.session(g.graph, g.data);
    const grid = await this.#positionGrid();
    const pixels = this.#naflexPool.take(B * N * K);
    const positions = this.#naflexPool.take(B * N * pg.dim);
    try {
      const x = naflexInputs(images, N, m, grid, { pixels, positions });
      const feeds = {
        pixel_values: tensor("float32", [B, N, K], x.pixelValues),
        pixel_attention_mask: tensor("int64", [B, N], x.mask),
        position_embeddings: tensor("float32", [B, N, pg.dim], x.positions),
      };
      return await this.#run(session, feeds, g.out, [B, N, pg.dim]);
    } finally {
      this.#naflexPool.give(pixels);
      this.#naflexPool.give(positions);
    }
  }

  #naflexGrid(): { side: number; dim: number } {
    const pg = this.#bundle.manifest.positionGrid;
    if (this.#bundle.manifest.preprocessing.kind !== "naflex" || pg === null) throw new SiglipError("INVALID_ARGUMENT", "this bundle is FixRes: its vision tower takes pixel values, not NaFlex patches");
    return pg;
  }

  #fixresSize(): number {
    const pp = this.#bundle.manifest.preprocessing;
    if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "this bundle is NaFlex: its vision tower takes patches, not S x S pixels");
    return pp.imageSize;
  }

  /** The bundle's NaFlex position grid, read (and checked) once. */
  #positionGrid(): Promise<Float32Array> {
    this.#grid ??= readPositionGrid(this.#bundle.source, this.#bundle.manifest, this.#o.verify !== false);
    this.#grid.catch(() => (this.#grid = undefined));
    return this.#grid;
  }
}
