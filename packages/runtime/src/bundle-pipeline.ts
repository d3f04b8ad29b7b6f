/**
 * A `SiglipPipeline` over a bundle: the vision graph (`pixel_values` -> `pooler_output`) and the split text graph
 * (`inputs_embeds` -> `pooler_output`) with token rows read from the split table, so no engine ever holds the token
 * table. Sessions are created once, on first use (Workers cannot await I/O in global scope), and reused. Tokenizing
 * and image preprocessing are injected (model-factory.ts wires packages/tokenizer and packages/preprocess), which
 * keeps this module free of both and lets a role Worker load only the tower it serves.
 * @module
 */
import { findCheckpoint, isSiglipError, SiglipError, tensor } from "@siglip-edge/core";
import type { BundleSource } from "./bundle-source.ts";
import { verifiedRead, verifyStreamed } from "./bundle-source.ts";
import type { EngineSession, InferenceEngine, ModelSource } from "./engine.ts";
import { fileDigest, type BundleManifest } from "./manifest.ts";
import type { EmbedTextOptions, LowercaseMode, ModelCard, SiglipPipeline, TextEmbeddings } from "./pipeline.ts";
import { TokenRowReader } from "./token-rows.ts";

export interface BundlePipelineOptions {
  engine: InferenceEngine;
  source: BundleSource;
  manifest: BundleManifest;
  /** One text to exactly `manifest.text.maxLength` token ids. */
  tokenize: (text: string, lowercase: LowercaseMode | undefined) => Int32Array | Promise<Int32Array>;
  /**
   * One encoded image to FixRes pixel values.
   * @returns [3, S, S] float32
   */
  pixels: (bytes: Uint8Array) => Promise<Float32Array>;
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
}

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

  async #modelSource(graph: string): Promise<ModelSource> {
    const { source, manifest, engine } = this.#o;
    const verify = this.#o.verify !== false;
    const dataPath = `${graph}.data`;
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
  session(graph: string): Promise<EngineSession> {
    let s = this.#sessions.get(graph);
    if (s === undefined) {
      s = (async () => this.#o.engine.createSession(await this.#modelSource(graph), { disablePrepacking: true, threads: this.#o.threads ?? 1, ...(this.#o.memArena === false ? { memArena: false } : {}) }))();
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
    const session = await this.session(manifest.graphs.textSplit);
    const out: Float32Array[] = [];
    const step = this.#o.maxTextBatch ?? 16;
    for (let i = 0; i < all.length; i += step) {
      const chunk = all.slice(i, i + step);
      const B = chunk.length;
      const ids = new Int32Array(B * T);
      chunk.forEach((r, b) => ids.set(r, b * T));
      const embeds = await this.rows.embed(ids, B, T); // [B, T, D]
      const res = await session.run({ inputs_embeds: tensor("float32", [B, T, D], embeds) }, ["pooler_output"]);
      out.push(...splitRows(res["pooler_output"]?.data as Float32Array, B));
    }
    return { embeddings: out, tokens };
  }

  async embedImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    const { manifest } = this.#o;
    if (manifest.preprocessing.kind !== "fixres") {
      throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served by this runtime yet (FixRes only)");
    }
    const S = manifest.preprocessing.imageSize;
    const session = await this.session(manifest.graphs.vision);
    const out: Float32Array[] = [];
    const step = this.#o.maxImageBatch ?? 4;
    for (let i = 0; i < images.length; i += step) {
      const chunk = images.slice(i, i + step);
      const B = chunk.length;
      const px = new Float32Array(B * 3 * S * S);
      for (let b = 0; b < B; b++) {
        try {
          px.set(await this.#o.pixels(chunk[b] as Uint8Array), b * 3 * S * S);
        } catch (err) {
          // Name the image: the API reports which input could not be decoded.
          if (isSiglipError(err)) throw new SiglipError(err.code, err.message, { cause: err, details: { ...err.details, imageIndex: i + b } });
          throw err;
        }
      }
      const res = await session.run({ pixel_values: tensor("float32", [B, 3, S, S], px) }, ["pooler_output"]);
      out.push(...splitRows(res["pooler_output"]?.data as Float32Array, B));
    }
    return out;
  }
}

/** [B, D] row-major -> B separate vectors (copies, so the batch buffer can be freed). */
function splitRows(data: Float32Array, B: number): Float32Array[] {
  const D = data.length / B;
  return Array.from({ length: B }, (_, b) => data.slice(b * D, (b + 1) * D));
}
