/**
 * Runs a bundle with onnxruntime (node or web/wasm): text from token ids (table inside the graph, or rows gathered
 * from the split table file), FixRes pixels, NaFlex patches (position embeddings resized here). Returns raw
 * `pooler_output` rows; callers L2-normalise. A stand-in until packages/runtime owns inference.
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { float16BitsToFloat32, SiglipError } from "@siglip-edge/core";
import type { BundleManifest } from "@siglip-edge/core";
import { loadManifest } from "./bundle.ts";
import { naflexPositionEmbeddings } from "./naflex.ts";
import { createSession, type OrtBackend, type OrtSession, type OutputTensor } from "./ort.ts";

export interface NaFlexBatch {
  /** [B, N, C·P·P] float32 */
  pixelValues: Float32Array;
  /** [B, N] 1 = real patch */
  pixelAttentionMask: ArrayLike<number>;
  /** (h, w) per image */
  spatialShapes: readonly (readonly [number, number])[];
  numPatches: number;
}

export class BundleModel {
  readonly dir: string;
  readonly manifest: BundleManifest;
  readonly backend: OrtBackend;
  private sessions = new Map<string, OrtSession>();
  private grid: Float32Array | null = null;

  private constructor(dir: string, manifest: BundleManifest, backend: OrtBackend) {
    this.dir = dir;
    this.manifest = manifest;
    this.backend = backend;
  }

  /** Loads a bundle, verifying sizes and sha256 of every file unless `verify: "sizes"`. */
  static async load(dir: string, opts: { backend?: OrtBackend; verify?: "hashes" | "sizes" } = {}): Promise<BundleModel> {
    const m = await loadManifest(dir, { hashes: opts.verify !== "sizes" });
    return new BundleModel(dir, m, opts.backend ?? "node");
  }

  private async session(file: string): Promise<OrtSession> {
    let s = this.sessions.get(file);
    if (s === undefined) {
      s = await createSession(join(this.dir, file), this.backend, [`${file}.data`]);
      this.sessions.set(file, s);
    }
    return s;
  }

  /**
   * @param ids [B, T] token ids (T = 64 for SigLIP 2)
   * @param split gather rows from the split table file instead of the table inside the graph
   * @returns pooler_output [B, P]
   */
  async embedTokenIds(ids: readonly (ArrayLike<number>)[], split = false): Promise<OutputTensor> {
    const B = ids.length;
    const T = ids[0]?.length ?? 0;
    if (B === 0 || ids.some((r) => r.length !== T)) throw new SiglipError("INVALID_ARGUMENT", "token id rows must be non-empty and of equal length");
    const V = this.manifest.tokenTable.rows;
    for (const r of ids) for (let i = 0; i < T; i++) if (!((r[i] as number) >= 0 && (r[i] as number) < V)) throw new SiglipError("INVALID_ARGUMENT", `token id ${r[i]} outside [0, ${V})`);
    if (!split) {
      const data = new BigInt64Array(B * T);
      ids.forEach((r, b) => {
        for (let i = 0; i < T; i++) data[b * T + i] = BigInt(r[i] as number);
      });
      const s = await this.session(this.manifest.graphs.text);
      return (await s.run({ input_ids: { dtype: "int64", dims: [B, T], data } }))["pooler_output"] as OutputTensor;
    }
    const D = this.manifest.tokenTable.dim;
    const emb = await this.gatherRows(ids.flatMap((r) => Array.from(r)));
    const s = await this.session(this.manifest.graphs.textSplit);
    return (await s.run({ inputs_embeds: { dtype: "float32", dims: [B, T, D], data: emb } }))["pooler_output"] as OutputTensor;
  }

  /**
   * Reads token rows from the split table with positioned reads (the edge never holds the whole table).
   * @returns [ids.length, D] float32
   */
  async gatherRows(ids: readonly number[]): Promise<Float32Array> {
    const t = this.manifest.tokenTable;
    const D = t.dim;
    const bytes = t.dtype === "float32" ? 4 : t.dtype === "float16" ? 2 : 1;
    const out = new Float32Array(ids.length * D);
    const fd = openSync(join(this.dir, t.file), "r");
    const sfd = t.scales === null ? null : openSync(join(this.dir, t.scales), "r");
    try {
      const buf = Buffer.alloc(D * bytes);
      const sbuf = Buffer.alloc(4);
      ids.forEach((id, k) => {
        readSync(fd, buf, 0, D * bytes, id * D * bytes);
        if (t.dtype === "float32") for (let i = 0; i < D; i++) out[k * D + i] = buf.readFloatLE(i * 4);
        else if (t.dtype === "float16") for (let i = 0; i < D; i++) out[k * D + i] = float16BitsToFloat32(buf.readUInt16LE(i * 2));
        else {
          readSync(sfd as number, sbuf, 0, 4, id * 4);
          const s = sbuf.readFloatLE(0);
          for (let i = 0; i < D; i++) out[k * D + i] = buf.readInt8(i) * s;
        }
      });
    } finally {
      closeSync(fd);
      if (sfd !== null) closeSync(sfd);
    }
    return out;
  }

  /**
   * FixRes images.
   * @param pixelValues [B, 3, S, S] float32
   */
  async embedPixels(pixelValues: Float32Array, B: number): Promise<OutputTensor> {
    const p = this.manifest.preprocessing;
    if (p.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", "this bundle is NaFlex: use embedPatches");
    const S = p.imageSize;
    const s = await this.session(this.manifest.graphs.vision);
    return (await s.run({ pixel_values: { dtype: "float32", dims: [B, 3, S, S], data: pixelValues } }))["pooler_output"] as OutputTensor;
  }

  /** NaFlex images (patchified, padded to `numPatches`). */
  async embedPatches(batch: NaFlexBatch): Promise<OutputTensor> {
    const pg = this.manifest.positionGrid;
    if (pg === null) throw new SiglipError("INVALID_ARGUMENT", "this bundle is FixRes: use embedPixels");
    if (this.grid === null) {
      const raw = await readFile(join(this.dir, pg.file));
      this.grid = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    }
    const B = batch.spatialShapes.length;
    const N = batch.numPatches;
    const K = batch.pixelValues.length / (B * N);
    const pos = naflexPositionEmbeddings(this.grid, pg.side, pg.dim, batch.spatialShapes, N); // [B, N, D]
    const mask = BigInt64Array.from(Array.from(batch.pixelAttentionMask, (v) => BigInt(v)));
    const s = await this.session(this.manifest.graphs.vision);
    const res = await s.run({
      pixel_values: { dtype: "float32", dims: [B, N, K], data: batch.pixelValues },
      pixel_attention_mask: { dtype: "int64", dims: [B, N], data: mask },
      position_embeddings: { dtype: "float32", dims: [B, N, pg.dim], data: pos },
    });
    return res["pooler_output"] as OutputTensor;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}
