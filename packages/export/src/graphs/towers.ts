/**
 * The three tower graphs (siglip2-spec §3, §4, §6):
 * - FixRes vision: `pixel_values [B, 3, S, S]` -> `pooler_output [B, D]` (conv patch embedding, no mask);
 * - NaFlex vision: `pixel_values [B, N, C·P·P]`, `pixel_attention_mask int64 [B, N]`, `position_embeddings [B, N, D]`
 *   (resized outside the graph with the antialiased weights of @siglip-edge/core, see `naflexPositionEmbeddings`)
 *   -> `pooler_output [B, D]`, key-masked in the encoder and the MAP head;
 * - text: `input_ids int64 [B, T]` (table inside) or `inputs_embeds [B, T, D]` (table split out) ->
 *   `pooler_output [B, P]` = head(LN(h)[:, T-1]).
 * Outputs are not normalised (as HF `pooler_output`); the runtime L2-normalises.
 *
 * Stage graphs (`BuildOptions.stage`): stage i of K covers encoder layers [floor(i·L/K), floor((i+1)·L/K)). Stage 0
 * takes the tower's inputs, later stages take `hidden_states [B, N, D]` (NaFlex: plus `pixel_attention_mask`, every
 * layer needs the key mask); every stage but the last outputs `hidden_states_out [B, N, D]` (ONNX names are single
 * assignment, so a graph cannot take and produce the same name), the last one ends as the whole tower does
 * (post-LN, head, `pooler_output`). Initializer names are those of the whole tower, so a stage can point into its
 * data file.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { ModelConfig } from "../config.ts";
import { GraphBuilder, type WeightSink } from "../onnx/builder.ts";
import { additiveKeyMask, encoderLayer, floatParam, layerNorm, linear, mapHead, toF16, type RowReader, type WeightDType, type WeightReader } from "./layers.ts";

/** Stage `index` of `count` consecutive stage graphs of one tower. */
export interface StageSpec {
  index: number;
  count: number;
}

export interface BuildOptions {
  dtype: WeightDType;
  /** Also output `last_hidden_state` (the transformers.js contract; whole towers only). */
  lastHiddenState?: boolean;
  /** Build only this stage of the tower (absent: the whole tower). */
  stage?: StageSpec;
}

/** Input of every stage after the first: the previous stage's `hidden_states_out`. */
export const STAGE_INPUT = "hidden_states";
/** Output of every stage before the last. */
export const STAGE_OUTPUT = "hidden_states_out";

/** Encoder layers [start, end) of stage `index` of `count` over `L` layers. */
export function stageLayers(L: number, s: StageSpec): [number, number] {
  return [Math.floor((s.index * L) / s.count), Math.floor(((s.index + 1) * L) / s.count)];
}

interface StagePlan {
  first: boolean;
  last: boolean;
  start: number;
  end: number;
}

function plan(L: number, s: StageSpec | undefined): StagePlan {
  if (s === undefined) return { first: true, last: true, start: 0, end: L };
  if (!Number.isInteger(s.count) || !Number.isInteger(s.index) || s.count < 1 || s.count > L || s.index < 0 || s.index >= s.count) {
    throw new SiglipError("INVALID_ARGUMENT", `stage ${s.index} of ${s.count} is not a stage of a ${L}-layer tower (1 <= stages <= ${L})`);
  }
  const [start, end] = stageLayers(L, s);
  return { first: s.index === 0, last: s.index === s.count - 1, start, end };
}

function stageName(name: string, s: StageSpec | undefined): string {
  return s === undefined ? name : `${name}_stage${s.index}`;
}

/** Ends a stage that is not the last: its hidden states [B, N, D] become the graph output. */
function stageOutput(g: GraphBuilder, h: string, seqDims: (string | number)[], D: number): GraphBuilder {
  g.rename(h, STAGE_OUTPUT);
  g.output(STAGE_OUTPUT, "float32", [...seqDims, D]);
  return g;
}

export function opsetsFor(dtype: WeightDType): Record<string, number> {
  return dtype === "q4" ? { "": 17, "com.microsoft": 1 } : { "": 17 };
}

async function encoder(g: GraphBuilder, x: string, prefix: string, read: WeightReader, t: { D: number; H: number; M: number; eps: number }, mask: string | null, dtype: WeightDType, st: StagePlan): Promise<string> {
  let h = x;
  for (let i = st.start; i < st.end; i++) h = await encoderLayer(g, h, `${prefix}.encoder.layers.${i}`, read, t, mask, dtype);
  return h;
}

function visionDims(c: ModelConfig): { D: number; H: number; M: number; eps: number; L: number } {
  const v = c.vision;
  return { D: v.hiddenSize, H: v.numHeads, M: v.intermediateSize, eps: v.layerNormEps, L: v.numLayers };
}

/** FixRes vision tower. */
export async function buildFixResVision(c: ModelConfig, read: WeightReader, sink: WeightSink | null, o: BuildOptions): Promise<GraphBuilder> {
  const v = c.vision;
  const S = v.imageSize ?? 0;
  const P = v.patchSize;
  const t = visionDims(c);
  const st = plan(t.L, o.stage);
  const g = new GraphBuilder(stageName("siglip_vision_fixres", o.stage), sink);
  const p = "vision_model";
  let x: string;
  if (st.first) {
    const px = g.input("pixel_values", "float32", ["batch", v.numChannels, S, S]);
    // Conv weights stay float (fp16 storage in the fp16 variant): the patch embedding is small and precision-critical.
    const convDtype = o.dtype === "fp16" ? "fp16" : "fp32";
    const wconv = floatParam(g, `${p}.embeddings.patch_embedding.weight`, [t.D, v.numChannels, P, P], await read(`${p}.embeddings.patch_embedding.weight`), convDtype);
    const bconv = g.init(`${p}.embeddings.patch_embedding.bias`, "float32", [t.D], await read(`${p}.embeddings.patch_embedding.bias`));
    const conv = g.op("Conv", [px, wconv, bconv], { kernel_shape: [P, P], strides: [P, P] }); // [B, D, gh, gw]; VALID drops leftovers
    const tokens = g.op("Transpose", [g.op("Reshape", [conv, g.i64([0, 0, -1])])], { perm: [0, 2, 1] }); // [B, N, D]
    const pos = floatParam(g, `${p}.embeddings.position_embedding.weight`, [v.numPositions, t.D], await read(`${p}.embeddings.position_embedding.weight`), convDtype);
    x = g.op("Add", [tokens, pos]);
  } else {
    x = g.input(STAGE_INPUT, "float32", ["batch", v.numPositions, t.D]);
  }
  const h = await encoder(g, x, p, read, t, null, o.dtype, st);
  if (!st.last) return stageOutput(g, h, ["batch", v.numPositions], t.D);
  const last = layerNorm(g, h, `${p}.post_layernorm`, await read(`${p}.post_layernorm.weight`), await read(`${p}.post_layernorm.bias`), t.eps);
  const pooled = await mapHead(g, last, `${p}.head`, read, t, null, o.dtype);
  finish(g, pooled, last, t.D, ["batch", v.numPositions], o);
  return g;
}

/** NaFlex vision tower; position embeddings come in as an input. */
export async function buildNaFlexVision(c: ModelConfig, read: WeightReader, sink: WeightSink | null, o: BuildOptions): Promise<GraphBuilder> {
  const v = c.vision;
  const P = v.patchSize;
  const K = v.numChannels * P * P;
  const t = visionDims(c);
  const st = plan(t.L, o.stage);
  const g = new GraphBuilder(stageName("siglip2_vision_naflex", o.stage), sink);
  const p = "vision_model";
  let x: string;
  let mask: string;
  if (st.first) {
    const px = g.input("pixel_values", "float32", ["batch", "num_patches", K]);
    mask = g.input("pixel_attention_mask", "int64", ["batch", "num_patches"]);
    const posIn = g.input("position_embeddings", "float32", ["batch", "num_patches", t.D]);
    const patchDtype = o.dtype === "fp16" ? "fp16" : "fp32";
    const emb = linear(g, px, `${p}.embeddings.patch_embedding`, await read(`${p}.embeddings.patch_embedding.weight`), await read(`${p}.embeddings.patch_embedding.bias`), t.D, K, patchDtype);
    x = g.op("Add", [emb, posIn]);
  } else {
    x = g.input(STAGE_INPUT, "float32", ["batch", "num_patches", t.D]);
    mask = g.input("pixel_attention_mask", "int64", ["batch", "num_patches"]);
  }
  const maskAdd = additiveKeyMask(g, mask); // [B, 1, 1, N]
  const h = await encoder(g, x, p, read, t, maskAdd, o.dtype, st);
  if (!st.last) return stageOutput(g, h, ["batch", "num_patches"], t.D);
  const last = layerNorm(g, h, `${p}.post_layernorm`, await read(`${p}.post_layernorm.weight`), await read(`${p}.post_layernorm.bias`), t.eps);
  const pooled = await mapHead(g, last, `${p}.head`, read, t, maskAdd, o.dtype);
  finish(g, pooled, last, t.D, ["batch", "num_patches"], o);
  return g;
}

export interface TextBuildOptions extends BuildOptions {
  /** `true`: input is `inputs_embeds [B, T, D]`, rows gathered outside the graph from the split table. */
  splitTable: boolean;
  /** Streams the token table in row chunks (falls back to reading it whole). */
  readRows?: RowReader;
}

/** Text tower, with the token table inside (`input_ids`) or split out (`inputs_embeds`). */
export async function buildText(c: ModelConfig, read: WeightReader, sink: WeightSink | null, o: TextBuildOptions): Promise<GraphBuilder> {
  const tc = c.text;
  const D = tc.hiddenSize;
  const t = { D, H: tc.numHeads, M: tc.intermediateSize, eps: tc.layerNormEps };
  if (o.stage !== undefined && !o.splitTable) throw new SiglipError("INVALID_ARGUMENT", "stage graphs are built for the split-table text graph only");
  const st = plan(tc.numLayers, o.stage);
  const g = new GraphBuilder(stageName(o.splitTable ? "siglip_text_split" : "siglip_text", o.stage), sink);
  const p = "text_model";
  let x: string;
  if (st.first) {
    let tok: string;
    let seqOf: string;
    if (o.splitTable) {
      tok = g.input("inputs_embeds", "float32", ["batch", "sequence", D]);
      seqOf = tok;
    } else {
      const ids = g.input("input_ids", "int64", ["batch", "sequence"]);
      tok = await tokenTable(g, ids, o.readRows ?? (async (n, start, count) => (await read(n)).slice(start * D, (start + count) * D)), tc.vocabSize, D, o.dtype);
      seqOf = ids;
    }
    // Positions 0..T-1 of the table, T taken from the input's shape (T <= max_position_embeddings).
    const T = g.op("Shape", [seqOf], { start: 1, end: 2 });
    const posTable = floatParam(g, `${p}.embeddings.position_embedding.weight`, [tc.maxPositions, D], await read(`${p}.embeddings.position_embedding.weight`), o.dtype === "fp16" ? "fp16" : "fp32");
    const pos = g.op("Slice", [posTable, g.i64([0]), T, g.i64([0])]); // [T, D]
    x = g.op("Add", [tok, pos]);
  } else {
    x = g.input(STAGE_INPUT, "float32", ["batch", "sequence", D]);
  }
  const h = await encoder(g, x, p, read, t, null, o.dtype, st); // no attention mask: the released models never used one
  if (!st.last) return stageOutput(g, h, ["batch", "sequence"], D);
  const last = layerNorm(g, h, `${p}.final_layer_norm`, await read(`${p}.final_layer_norm.weight`), await read(`${p}.final_layer_norm.bias`), t.eps);
  const lastTok = g.op("Gather", [last, g.init("last_position", "int64", [], BigInt64Array.of(-1n))], { axis: 1 }); // [B, D]: position T-1, whatever token
  const pooled = linear(g, lastTok, `${p}.head`, await read(`${p}.head.weight`), await read(`${p}.head.bias`), tc.projectionSize, D, o.dtype);
  finish(g, pooled, last, tc.projectionSize, ["batch", "sequence"], o, D);
  return g;
}

/** Rows per chunk when streaming a token table (4096 x 1152 x 4 B = 18 MB). */
const TABLE_CHUNK_ROWS = 4096;

/**
 * Streams a [V, D] table in row chunks, each mapped to its stored form. One read buffer is reused, so a chunk must
 * be consumed (written) before the next is requested, which `for await` guarantees.
 * @param map rows [n, D] float32 -> stored chunk
 */
export async function* tableChunks<T>(readRows: RowReader, name: string, V: number, D: number, map: (rows: Float32Array, start: number, n: number) => T): AsyncIterable<T> {
  const buf = new Float32Array(Math.min(TABLE_CHUNK_ROWS, V) * D);
  for (let start = 0; start < V; start += TABLE_CHUNK_ROWS) {
    const n = Math.min(TABLE_CHUNK_ROWS, V - start);
    yield map(await readRows(name, start, n, buf.subarray(0, n * D)), start, n);
  }
}

/**
 * Token lookup inside the graph. fp32/fp16: Gather (then Cast); int8/q4: int8 rows with a per-row scale, both
 * gathered, so the table is never dequantised as a whole. The table is streamed from the checkpoint in row chunks.
 * @returns [B, T, D] float32
 */
async function tokenTable(g: GraphBuilder, ids: string, readRows: RowReader, V: number, D: number, dtype: WeightDType): Promise<string> {
  const name = "text_model.embeddings.token_embedding.weight";
  if (dtype === "fp32") {
    const t = await g.initStreamed(name, "float32", [V, D], tableChunks(readRows, name, V, D, (r) => r));
    return g.op("Gather", [t, ids], { axis: 0 });
  }
  if (dtype === "fp16") {
    const t = await g.initStreamed(name, "float16", [V, D], tableChunks(readRows, name, V, D, (r) => toF16(r)));
    return g.op("Cast", [g.op("Gather", [t, ids], { axis: 0 })], { to: 1 });
  }
  const scales = new Float32Array(V);
  const q = await g.initStreamed(`${name}.int8`, "int8", [V, D], tableChunks(readRows, name, V, D, (r, start, n) => {
    const c = quantizeRowsInt8(r, n, D);
    scales.set(c.scales, start);
    return c.q;
  }));
  const rows = g.op("Cast", [g.op("Gather", [q, ids], { axis: 0 })], { to: 1 });
  const sc = g.op("Gather", [g.init(`${name}.row_scale`, "float32", [V, 1], scales), ids], { axis: 0 }); // [B, T, 1]
  return g.op("Mul", [rows, sc]);
}

/**
 * Symmetric int8 per-row quantisation (used for token tables, inside the graph and in the split file).
 * @param table [V, D] float32
 */
export function quantizeRowsInt8(table: Float32Array, V: number, D: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(V * D);
  const scales = new Float32Array(V);
  for (let r = 0; r < V; r++) {
    let amax = 0;
    for (let i = 0; i < D; i++) amax = Math.max(amax, Math.abs(table[r * D + i] as number));
    const s = amax / 127 || 1;
    scales[r] = s;
    for (let i = 0; i < D; i++) q[r * D + i] = Math.round((table[r * D + i] as number) / s);
  }
  return { q, scales };
}

function finish(g: GraphBuilder, pooled: string, last: string, outDim: number, seqDims: (string | number)[], o: BuildOptions, hidden?: number): void {
  g.rename(pooled, "pooler_output");
  g.output("pooler_output", "float32", ["batch", outDim]);
  if (o.lastHiddenState === true) {
    const id = g.op("Identity", [last]);
    g.rename(id, "last_hidden_state");
    g.output("last_hidden_state", "float32", [...seqDims, hidden ?? outDim]);
  }
}
