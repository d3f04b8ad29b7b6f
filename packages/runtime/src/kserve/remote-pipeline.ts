/**
 * A `SiglipPipeline` whose towers run on a KServe v2 backend (Triton, KServe, MLServer, or `siglip backend`).
 * Tokenising and preprocessing stay here, exactly as the local pipeline does them; only tensors cross the wire:
 * - text: `<name>-text`, input `input_ids` INT64 [B, T] -> output `pooler_output` FP32 [B, D];
 * - vision: `<name>-vision`, input `pixel_values` FP32 [B, 3, S, S] -> output `pooler_output` FP32 [B, D].
 * Both are the bundle's own graphs (`text.onnx`, `vision.onnx`), so a backend serves bit-for-bit the same model.
 * The edge needs only the bundle's manifest and tokenizer (no weights). Every answer is checked: a missing output,
 * a wrong dtype or shape is `BACKEND_BAD_RESPONSE`, never a vector passed on.
 * @module
 */
import { SiglipError, tensor, type Tensor } from "@siglip-edge/core";
import { PIXEL_LUT, preprocessFixRes } from "@siglip-edge/preprocess";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import type { BundleSource } from "../bundle-source.ts";
import { modelCard } from "../bundle-pipeline.ts";
import type { BundleManifest } from "@siglip-edge/core";
import { readManifest } from "../bundle-source.ts";
import { lazyBundleTokenizer } from "../model-factory.ts";
import type { EmbedTextOptions, LowercaseMode, ModelCard, SiglipPipeline, TextEmbeddings } from "../pipeline.ts";
import type { KServeClient } from "./client.ts";

/**
 * Backend model names for a served model: `<name>-text`, `<name>-vision`, and `<name>-vision-u8` (the vision tower
 * behind the in-graph pixel table, taking UINT8 pixels).
 */
export function towerModelNames(name: string): { text: string; vision: string; visionU8: string } {
  return { text: `${name}-text`, vision: `${name}-vision`, visionU8: `${name}-vision-u8` };
}

/** Input name of `<name>-vision-u8`: resized RGB samples, UINT8 [B, 3, S, S]. */
export const PIXELS_U8_INPUT = "pixels";

/**
 * Inverse of the pixel table: the uint8 sample behind each FixRes float. Exact, as the table is strictly increasing
 * and every FixRes value is one of its 256 entries.
 * @param px [3, S, S] float32 from `preprocessFixRes`
 * @returns [3, S, S] uint8, or undefined when a value is not in the table
 */
export function pixelsToUint8(px: Float32Array): Uint8Array | undefined {
  const out = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) {
    const v = px[i] as number;
    let lo = 0;
    let hi = 255;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((PIXEL_LUT[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    if (PIXEL_LUT[lo] !== v) return undefined;
    out[i] = lo;
  }
  return out;
}

/** Output name of both towers (the bundle graphs' pooled embedding). */
export const TOWER_OUTPUT = "pooler_output";

export interface RemotePipelineOptions {
  client: KServeClient;
  manifest: BundleManifest;
  /** Prefix of the backend's model names (`<name>-text`, `<name>-vision`). */
  remoteName: string;
  tokenize: (text: string, lowercase: LowercaseMode | undefined) => Int32Array | Promise<Int32Array>;
  /** @returns [3, S, S] float32 */
  pixels: (bytes: Uint8Array) => Promise<Float32Array>;
  id?: string;
  /** Tiny random-weight fixtures only (see BundlePipelineOptions). */
  foldTokenIds?: boolean;
  /** Largest batch per infer call (defaults 64 texts, 16 images). */
  maxTextBatch?: number;
  maxImageBatch?: number;
  /** Binary extension (default true) or JSON. */
  binary?: boolean;
  /**
   * Pixels on the wire: `float32` (default) to `<name>-vision`, or `uint8` to `<name>-vision-u8`, which applies the
   * same pixel table inside the graph (bit-identical `pixel_values`, 4x fewer bytes).
   */
  pixelFormat?: "float32" | "uint8";
  /**
   * Before the first call to a tower, check that the backend has it ready and that its metadata matches the
   * contract (input and output names, datatypes, shapes); default true.
   */
  checkContract?: boolean;
}

/** Wire bytes of the calls made so far (request + response bodies), for the benchmark's figures. */
export interface WireStats {
  calls: number;
  bytesSent: number;
  bytesReceived: number;
}

export class RemotePipeline implements SiglipPipeline {
  readonly card: ModelCard;
  readonly logit: { logitScale: number; logitBias: number };
  readonly wire: WireStats = { calls: 0, bytesSent: 0, bytesReceived: 0 };
  readonly #o: RemotePipelineOptions;
  readonly #checked = new Map<string, Promise<void>>();

  constructor(o: RemotePipelineOptions) {
    this.#o = o;
    const m = o.manifest;
    this.card = modelCard(m, `backend: KServe v2 at ${o.client.label} (${o.remoteName})`, o.id);
    this.logit = { logitScale: m.logitScale, logitBias: m.logitBias };
  }

  /** The contract of both towers: input and output as the backend's model metadata must list them (-1 = batch). */
  contract(): Record<"text" | "vision", { model: string; input: { name: string; datatype: string; shape: number[] }; output: { name: string; datatype: string; shape: number[] } }> {
    const m = this.#o.manifest;
    const names = towerModelNames(this.#o.remoteName);
    const S = m.preprocessing.kind === "fixres" ? m.preprocessing.imageSize : -1;
    const output = { name: TOWER_OUTPUT, datatype: "FP32", shape: [-1, m.sizes.embedDim] };
    const u8 = this.#o.pixelFormat === "uint8";
    return {
      text: { model: names.text, input: { name: "input_ids", datatype: "INT64", shape: [-1, m.text.maxLength] }, output },
      vision: u8
        ? { model: names.visionU8, input: { name: PIXELS_U8_INPUT, datatype: "UINT8", shape: [-1, 3, S, S] }, output }
        : { model: names.vision, input: { name: "pixel_values", datatype: "FP32", shape: [-1, 3, S, S] }, output },
    };
  }

  /**
   * Checks one tower on the backend: ready, and its metadata lists the contract's input and output (Triton reports
   * the batch dimension as -1). A mismatch is `BACKEND_BAD_RESPONSE` naming what differs.
   */
  async checkTower(tower: "text" | "vision"): Promise<void> {
    const c = this.contract()[tower];
    const client = this.#o.client;
    if (!(await client.modelReady(c.model))) {
      throw new SiglipError("BACKEND_UNAVAILABLE", `backend ${client.label}: model ${c.model} is not ready`, { details: { backend: client.label, model: c.model, retryAfterSeconds: 1 } });
    }
    const meta = await client.modelMetadata(c.model);
    const same = (a: { name: string; datatype: string; shape: number[] }, list: readonly { name: string; datatype: string; shape: number[] }[]) =>
      list.some((t) => t.name === a.name && t.datatype === a.datatype && t.shape.length === a.shape.length && t.shape.every((d, i) => d === a.shape[i]));
    const show = (t: { name: string; datatype: string; shape: number[] }) => `${t.name} ${t.datatype} [${t.shape.join(", ")}]`;
    for (const [what, want, list] of [["input", c.input, meta.inputs], ["output", c.output, meta.outputs]] as const) {
      if (!same(want, list)) {
        throw new SiglipError("BACKEND_BAD_RESPONSE", `backend ${client.label}: model ${c.model} does not take the contract's ${what} ${show(want)} (it lists ${list.map(show).join(", ") || "none"})`, {
          details: { backend: client.label, model: c.model },
        });
      }
    }
  }

  /** `checkTower` once per tower (again after a failure). */
  #ensure(tower: "text" | "vision"): Promise<void> {
    if (this.#o.checkContract === false) return Promise.resolve();
    let p = this.#checked.get(tower);
    if (p === undefined) {
      p = this.checkTower(tower);
      p.catch(() => this.#checked.delete(tower));
      this.#checked.set(tower, p);
    }
    return p;
  }

  /** Runs one tower and checks its answer is [B, D] float32. */
  async #run(model: string, feeds: Record<string, Tensor>, B: number): Promise<Float32Array[]> {
    await this.#ensure(model === towerModelNames(this.#o.remoteName).text ? "text" : "vision");
    const D = this.#o.manifest.sizes.embedDim;
    const r = await this.#o.client.infer(model, feeds, { outputs: [TOWER_OUTPUT], binary: this.#o.binary ?? true });
    this.wire.calls++;
    this.wire.bytesSent += r.bytesSent;
    this.wire.bytesReceived += r.bytesReceived;
    const out = r.outputs[TOWER_OUTPUT] as Tensor;
    const badShape = out.dims.length !== 2 || out.dims[0] !== B || out.dims[1] !== D;
    if (out.dtype !== "float32" || badShape) {
      throw new SiglipError("BACKEND_BAD_RESPONSE", `backend ${this.#o.client.label}, model ${model}: ${TOWER_OUTPUT} is ${out.dtype} [${out.dims.join(", ")}], expected float32 [${B}, ${D}]`, {
        details: { backend: this.#o.client.label, model, dtype: out.dtype, shape: out.dims },
      });
    }
    const data = out.data as Float32Array;
    return Array.from({ length: B }, (_, b) => data.slice(b * D, (b + 1) * D));
  }

  async embedTexts(texts: readonly string[], options: EmbedTextOptions = {}): Promise<TextEmbeddings> {
    const m = this.#o.manifest;
    const T = m.text.maxLength;
    const V = m.tokenTable.rows;
    const all: Int32Array[] = [];
    let tokens = 0;
    for (const t of texts) {
      const ids = await this.#o.tokenize(t, options.lowercase);
      if (ids.length !== T) throw new SiglipError("INTERNAL", `tokenizer returned ${ids.length} ids, the model needs ${T}`);
      for (const id of ids) if (id !== m.text.padId) tokens++;
      all.push(this.#o.foldTokenIds ? ids.map((id) => id % V) : ids);
    }
    const out: Float32Array[] = [];
    const step = this.#o.maxTextBatch ?? 64;
    const name = towerModelNames(this.#o.remoteName).text;
    for (let i = 0; i < all.length; i += step) {
      const chunk = all.slice(i, i + step);
      const B = chunk.length;
      const ids = new BigInt64Array(B * T); // [B, T] int64, as the text graph takes them
      chunk.forEach((r, b) => r.forEach((id, t) => (ids[b * T + t] = BigInt(id))));
      out.push(...(await this.#run(name, { input_ids: tensor("int64", [B, T], ids) }, B)));
    }
    return { embeddings: out, tokens };
  }

  async embedImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    const pp = this.#o.manifest.preprocessing;
    if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served by this runtime yet (FixRes only)");
    const S = pp.imageSize;
    const out: Float32Array[] = [];
    const step = this.#o.maxImageBatch ?? 16;
    const u8 = this.#o.pixelFormat === "uint8";
    const names = towerModelNames(this.#o.remoteName);
    for (let i = 0; i < images.length; i += step) {
      const chunk = images.slice(i, i + step);
      const B = chunk.length;
      const n = 3 * S * S;
      const px = u8 ? new Uint8Array(B * n) : new Float32Array(B * n); // [B, 3, S, S]
      for (let b = 0; b < B; b++) {
        let one: Float32Array;
        try {
          one = await this.#o.pixels(chunk[b] as Uint8Array);
        } catch (err) {
          if (err instanceof SiglipError) throw new SiglipError(err.code, err.message, { cause: err, details: { ...err.details, imageIndex: i + b } });
          throw err;
        }
        if (u8) {
          const bytes = pixelsToUint8(one);
          if (bytes === undefined) throw new SiglipError("INTERNAL", "a pixel value is not in the FixRes pixel table; the uint8 wire format cannot carry it");
          (px as Uint8Array).set(bytes, b * n);
        } else {
          (px as Float32Array).set(one, b * n);
        }
      }
      const feeds: Record<string, Tensor> = u8 ? { [PIXELS_U8_INPUT]: tensor("uint8", [B, 3, S, S], px as Uint8Array) } : { pixel_values: tensor("float32", [B, 3, S, S], px as Float32Array) };
      out.push(...(await this.#run(u8 ? names.visionU8 : names.vision, feeds, B)));
    }
    return out;
  }
}

export interface OpenRemoteModelOptions extends Pick<RemotePipelineOptions, "client" | "remoteName" | "id" | "foldTokenIds" | "maxTextBatch" | "maxImageBatch" | "binary" | "checkContract" | "pixelFormat"> {
  /** The bundle's manifest and tokenizer (weights are not read). */
  source: BundleSource;
  tokenizer?: Tokenizer;
}

/** A remote model from a bundle's manifest and tokenizer, preprocessing as `openBundleModel` does. */
export async function openRemoteModel(o: OpenRemoteModelOptions): Promise<RemotePipeline> {
  const manifest = await readManifest(o.source);
  const getTokenizer = lazyBundleTokenizer(o.source, manifest, o.tokenizer);
  const pp = manifest.preprocessing;
  const maxLength = manifest.text.maxLength;
  const { source: _source, tokenizer: _tok, ...rest } = o;
  return new RemotePipeline({
    ...rest,
    manifest,
    tokenize: async (text, lowercase) => (await getTokenizer()).encode(text, lowercase === undefined ? { maxLength } : { maxLength, lowercase }),
    pixels: async (bytes) => {
      if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served yet");
      return (await preprocessFixRes(bytes, { size: pp.imageSize, resample: pp.resample })).data;
    },
  });
}
