/**
 * Towers on a KServe v2 backend (Triton, KServe, MLServer, or `siglip backend`), for `openModel({ towers:
 * kserveTowers(...) })`. Tokenising and preprocessing stay in `ModelPipeline`, exactly as for local towers; only
 * tensors cross the wire:
 * - text: `<name>-text`, input `input_ids` INT64 [B, T] -> output `pooler_output` FP32 [B, D];
 * - FixRes vision: `<name>-vision`, input `pixel_values` FP32 [B, 3, S, S] -> output `pooler_output` FP32 [B, D]; or
 *   `<name>-vision-u8`, input `pixels` UINT8 [B, 3, S, S]: the resized image's own bytes in channel-first order
 *   (`fixresSamples`), with the pixel table applied inside the backend's graph (bit-identical `pixel_values`, 4x fewer
 *   bytes);
 * - NaFlex vision: `<name>-vision`, inputs `pixel_values` FP32 [B, N, P·P·3], `pixel_attention_mask` INT64 [B, N] and
 *   `position_embeddings` FP32 [B, N, D], N (the request's `max_num_patches`) a dynamic dimension. The position
 *   embeddings are resized here, on the client, from the bundle's grid (`naflexInputs`, the same code as the edge's
 *   towers), so the backend serves the bundle's own graph unchanged; the cost is D floats per patch on the wire (at
 *   B/16 as many bytes as the patches). NaFlex always sends float32 (no uint8 path yet).
 * Both towers are the bundle's own graphs (`text.onnx`, `vision.onnx`), so a backend serves bit-for-bit the same
 * model. The edge needs only the bundle's manifest and tokenizer (and, for NaFlex, its position grid; no weights).
 * Every answer is checked: a missing output, a wrong dtype or shape is `BACKEND_BAD_RESPONSE`, never a vector passed
 * on.
 * @module
 */
import { SiglipError, tensor, type BundleManifest, type Tensor } from "@siglip-edge/core";
import { fixresPixels, fixresSamples } from "@siglip-edge/preprocess";
import { naflexInputs, readPositionGrid } from "../naflex.ts";
import type { SizedImage } from "../pipeline.ts";
import type { TowerContext, Towers, TowersFactory } from "../towers.ts";
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

/** Output name of both towers (the bundle graphs' pooled embedding). */
export const TOWER_OUTPUT = "pooler_output";

/** Larger batches than at the edge: a GPU backend batches well and every call is a network round trip. */
export const KSERVE_BATCH: Readonly<{ text: number; image: number }> = { text: 64, image: 16 };

export interface KServeTowerOptions {
  client: KServeClient;
  /** Prefix of the backend's model names (`<name>-text`, `<name>-vision`). */
  remoteName: string;
  /** Binary extension (default true) or JSON. */
  binary?: boolean;
  /** Pixels on the wire: `float32` (default) to `<name>-vision`, or `uint8` to `<name>-vision-u8`. */
  pixelFormat?: "float32" | "uint8";
  /**
   * Before the first call to a tower, check that the backend has it ready and that its metadata matches the
   * contract (input and output names, datatypes, shapes); default true.
   */
  checkContract?: boolean;
}

/** Towers on a KServe v2 backend, for `openModel({ towers: kserveTowers(options) })`. */
export function kserveTowers(o: KServeTowerOptions): TowersFactory<KServeTowers> {
  return (bundle) => new KServeTowers(o, bundle);
}

/** Wire bytes of the calls made so far (request + response bodies), for the benchmark's figures. */
export interface WireStats {
  calls: number;
  bytesSent: number;
  bytesReceived: number;
}

/** One tensor of a tower's contract; -1 marks a dynamic dimension (the batch; NaFlex: also the patch count). */
export type TensorContract = { name: string; datatype: "FP32" | "INT64" | "UINT8"; shape: number[] };

/** What a backend model takes and answers. */
export interface TowerContract {
  model: string;
  inputs: TensorContract[];
  output: TensorContract;
}

/**
 * The contract of a bundle's tower models on a KServe backend: what `KServeTowers` checks against the backend's
 * metadata and what `siglip backend` / `siglip triton-repo` serve (packages/backend). `visionU8` exists for FixRes
 * bundles only.
 */
export function towerContracts(m: BundleManifest, remoteName: string): { text: TowerContract; vision: TowerContract; visionU8?: TowerContract } {
  const names = towerModelNames(remoteName);
  const output: TensorContract = { name: TOWER_OUTPUT, datatype: "FP32", shape: [-1, m.sizes.embedDim] };
  const text: TowerContract = { model: names.text, inputs: [{ name: "input_ids", datatype: "INT64", shape: [-1, m.text.maxLength] }], output };
  const pp = m.preprocessing;
  if (pp.kind === "naflex") {
    const K = pp.patchSize * pp.patchSize * 3;
    const D = m.sizes.vision.hiddenSize;
    const inputs: TensorContract[] = [
      { name: "pixel_values", datatype: "FP32", shape: [-1, -1, K] },
      { name: "pixel_attention_mask", datatype: "INT64", shape: [-1, -1] },
      { name: "position_embeddings", datatype: "FP32", shape: [-1, -1, D] },
    ];
    return { text, vision: { model: names.vision, inputs, output } };
  }
  const S = pp.imageSize;
  return {
    text,
    vision: { model: names.vision, inputs: [{ name: "pixel_values", datatype: "FP32", shape: [-1, 3, S, S] }], output },
    visionU8: { model: names.visionU8, inputs: [{ name: PIXELS_U8_INPUT, datatype: "UINT8", shape: [-1, 3, S, S] }], output },
  };
}

export class KServeTowers implements Towers {
  readonly runsOn: string;
  readonly backend: string;
  readonly batch = KSERVE_BATCH;
  readonly wire: WireStats = { calls: 0, bytesSent: 0, bytesReceived: 0 };
  readonly #o: KServeTowerOptions;
  readonly #source: TowerContext["source"] | undefined;
  readonly #manifest: BundleManifest;
  readonly #checked = new Map<string, Promise<void>>();
  #grid: Promise<Float32Array> | undefined;

  /** @param bundle the manifest, and the source NaFlex bundles read their position grid from */
  constructor(o: KServeTowerOptions, bundle: Pick<TowerContext, "manifest"> & Partial<Pick<TowerContext, "source">>) {
    this.#o = o;
    this.#source = bundle.source;
    this.#manifest = bundle.manifest;
    this.backend = o.client.label;
    this.runsOn = `backend: KServe v2 at ${o.client.label} (${o.remoteName})`;
  }

  /** The contract of both towers as this client calls them (the uint8 vision model with `pixelFormat: "uint8"`). */
  contract(): Record<"text" | "vision", TowerContract> {
    const c = towerContracts(this.#manifest, this.#o.remoteName);
    return { text: c.text, vision: this.#o.pixelFormat === "uint8" && c.visionU8 !== undefined ? c.visionU8 : c.vision };
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
    const same = (a: TensorContract, list: readonly { name: string; datatype: string; shape: number[] }[]) =>
      list.some((t) => t.name === a.name && t.datatype === a.datatype && t.shape.length === a.shape.length && t.shape.every((d, i) => d === a.shape[i]));
    const show = (t: { name: string; datatype: string; shape: number[] }) => `${t.name} ${t.datatype} [${t.shape.join(", ")}]`;
    for (const [what, want, list] of [...c.inputs.map((i) => ["input", i, meta.inputs] as const), ["output", c.output, meta.outputs] as const]) {
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
  async #run(tower: "text" | "vision", feeds: Record<string, Tensor>, B: number): Promise<Tensor<"float32">> {
    await this.#ensure(tower);
    const model = this.contract()[tower].model;
    const D = this.#manifest.sizes.embedDim;
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
    return out as Tensor<"float32">;
  }

  async text(rows: readonly Int32Array[]): Promise<Tensor<"float32">> {
    const T = this.#manifest.text.maxLength;
    const B = rows.length;
    const ids = new BigInt64Array(B * T); // [B, T] int64, as the text graph takes them
    rows.forEach((r, b) => r.forEach((id, t) => (ids[b * T + t] = BigInt(id))));
    return this.#run("text", { input_ids: tensor("int64", [B, T], ids) }, B);
  }

  /** NaFlex images resized to their grids: patches, mask and position embeddings (resized here) to `<name>-vision`. */
  async naflex(images: readonly SizedImage[], maxNumPatches: number): Promise<Tensor<"float32">> {
    const m = this.#manifest;
    const pp = m.preprocessing;
    if (pp.kind !== "naflex") throw new SiglipError("INVALID_ARGUMENT", "this bundle is FixRes: its vision tower takes S x S pixels, not NaFlex patches");
    const source = this.#source;
    if (source === undefined) throw new SiglipError("INVALID_ARGUMENT", "NaFlex towers on a backend need the bundle's source (its position grid)");
    this.#grid ??= readPositionGrid(source, m);
    this.#grid.catch(() => (this.#grid = undefined));
    const x = naflexInputs(images, maxNumPatches, m, await this.#grid);
    const B = images.length;
    const N = maxNumPatches;
    const K = pp.patchSize ** 2 * 3;
    const D = m.sizes.vision.hiddenSize;
    return this.#run("vision", { pixel_values: tensor("float32", [B, N, K], x.pixelValues), pixel_attention_mask: tensor("int64", [B, N], x.mask), position_embeddings: tensor("float32", [B, N, D], x.positions) }, B);
  }

  async fixres(images: readonly SizedImage[]): Promise<Tensor<"float32">> {
    const pp = this.#manifest.preprocessing;
    if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "this bundle is NaFlex: its vision tower takes patches, not S x S pixels");
    const S = pp.imageSize;
    const B = images.length;
    const n = 3 * S * S;
    if (this.#o.pixelFormat === "uint8") {
      const px = new Uint8Array(B * n); // [B, 3, S, S]: the samples the pixel table maps, in its order
      images.forEach((img, b) => fixresSamples(img, px.subarray(b * n, (b + 1) * n)));
      return this.#run("vision", { [PIXELS_U8_INPUT]: tensor("uint8", [B, 3, S, S], px) }, B);
    }
    const px = new Float32Array(B * n);
    images.forEach((img, b) => fixresPixels(img, { size: S }, px.subarray(b * n, (b + 1) * n)));
    return this.#run("vision", { pixel_values: tensor("float32", [B, 3, S, S], px) }, B);
  }
}
