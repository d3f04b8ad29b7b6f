/**
 * Towers on a KServe v2 backend (Triton, KServe, MLServer, or `siglip backend`), for `openModel({ towers:
 * kserveTowers(...) })`. Tokenising and preprocessing stay in `ModelPipeline`, exactly as for local towers; only
 * tensors cross the wire:
 * - text: `<name>-text`, input `input_ids` INT64 [B, T] -> output `pooler_output` FP32 [B, D];
 * - vision: `<name>-vision`, input `pixel_values` FP32 [B, 3, S, S] -> output `pooler_output` FP32 [B, D]; or
 *   `<name>-vision-u8`, input `pixels` UINT8 [B, 3, S, S]: the resized image's own bytes in channel-first order
 *   (`fixresSamples`), with the pixel table applied inside the backend's graph (bit-identical `pixel_values`, 4x fewer
 *   bytes).
 * Both towers are the bundle's own graphs (`text.onnx`, `vision.onnx`), so a backend serves bit-for-bit the same
 * model. The edge needs only the bundle's manifest and tokenizer (no weights). Every answer is checked: a missing
 * output, a wrong dtype or shape is `BACKEND_BAD_RESPONSE`, never a vector passed on.
 * @module
 */
import { SiglipError, tensor, type BundleManifest, type Tensor } from "@siglip-edge/core";
import { fixresPixels, fixresSamples } from "@siglip-edge/preprocess";
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

type TensorContract = { name: string; datatype: string; shape: number[] };

export class KServeTowers implements Towers {
  readonly runsOn: string;
  readonly backend: string;
  readonly batch = KSERVE_BATCH;
  readonly wire: WireStats = { calls: 0, bytesSent: 0, bytesReceived: 0 };
  readonly #o: KServeTowerOptions;
  readonly #manifest: BundleManifest;
  readonly #checked = new Map<string, Promise<void>>();

  constructor(o: KServeTowerOptions, bundle: Pick<TowerContext, "manifest">) {
    this.#o = o;
    this.#manifest = bundle.manifest;
    this.backend = o.client.label;
    this.runsOn = `backend: KServe v2 at ${o.client.label} (${o.remoteName})`;
  }

  /** The contract of both towers: input and output as the backend's model metadata must list them (-1 = batch). */
  contract(): Record<"text" | "vision", { model: string; input: TensorContract; output: TensorContract }> {
    const m = this.#manifest;
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
    const same = (a: TensorContract, list: readonly TensorContract[]) =>
      list.some((t) => t.name === a.name && t.datatype === a.datatype && t.shape.length === a.shape.length && t.shape.every((d, i) => d === a.shape[i]));
    const show = (t: TensorContract) => `${t.name} ${t.datatype} [${t.shape.join(", ")}]`;
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

  async fixres(images: readonly SizedImage[]): Promise<Tensor<"float32">> {
    const pp = this.#manifest.preprocessing;
    if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "NaFlex bundles are not served by KServe backends yet (FixRes only)");
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
