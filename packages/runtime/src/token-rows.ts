/**
 * Token-embedding rows read from the split table (edge-runtime §10.2 #2): the text graph starts at `inputs_embeds`,
 * so no isolate ever holds the 256000 x 768 table. A request's ids are deduplicated, rows already in the isolate's
 * LRU are reused (`<pad>` and `<eos>` are in nearly every request), concurrent requests for the same row share one
 * read, and runs of adjacent missing ids are coalesced into one ranged read (fewer R2 subrequests).
 * @module
 */
import { float16BitsToFloat32, SiglipError } from "@siglip-edge/core";
import type { BundleSource } from "./bundle-source.ts";
import { LruCache } from "./memory-cache.ts";

export interface TokenTableSpec {
  /** File holding `rows x dim` values, row-major, little-endian. */
  path: string;
  rows: number;
  dim: number;
  dtype: "float32" | "float16" | "int8";
  /** int8 tables: file of one float32 scale per row (value = q * scale). */
  scales?: string | null;
}

export interface TokenRowStats {
  /** Ranged reads issued so far. */
  reads: number;
  /** Rows served from the LRU or an in-flight read. */
  hits: number;
  /** Rows fetched. */
  fetched: number;
}

export class TokenRowReader {
  readonly spec: TokenTableSpec;
  readonly stats: TokenRowStats = { reads: 0, hits: 0, fetched: 0 };
  readonly #source: BundleSource;
  readonly #cache: LruCache<number, Float32Array>;
  readonly #inflight = new Map<number, Promise<Float32Array>>();
  /** Ids closer than this are read in one range (the gap's bytes are cheaper than another subrequest). */
  readonly #gap: number;

  constructor(source: BundleSource, spec: TokenTableSpec, options: { cacheRows?: number; coalesceGap?: number } = {}) {
    this.#source = source;
    this.spec = spec;
    this.#cache = new LruCache(options.cacheRows ?? 8192);
    this.#gap = options.coalesceGap ?? 4;
  }

  get #rowBytes(): number {
    return this.spec.dim * (this.spec.dtype === "float32" ? 4 : this.spec.dtype === "float16" ? 2 : 1);
  }

  #decode(bytes: Uint8Array, offset: number, scale: number): Float32Array {
    const { dim } = this.spec;
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, this.#rowBytes);
    const out = new Float32Array(dim);
    if (this.spec.dtype === "float32") for (let i = 0; i < dim; i++) out[i] = view.getFloat32(i * 4, true);
    else if (this.spec.dtype === "float16") for (let i = 0; i < dim; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
    else for (let i = 0; i < dim; i++) out[i] = view.getInt8(i) * scale;
    return out;
  }

  async #readRun(first: number, last: number): Promise<Map<number, Float32Array>> {
    const rb = this.#rowBytes;
    this.stats.reads++;
    const n = last - first + 1;
    const bytes = await this.#source.readRange(this.spec.path, first * rb, n * rb);
    let scales: DataView | undefined;
    if (this.spec.dtype === "int8") {
      if (!this.spec.scales) throw new SiglipError("CHECKPOINT_INVALID", "an int8 token table needs its per-row scales file");
      this.stats.reads++;
      const s = await this.#source.readRange(this.spec.scales, first * 4, n * 4);
      scales = new DataView(s.buffer, s.byteOffset, s.byteLength);
    }
    const out = new Map<number, Float32Array>();
    for (let id = first; id <= last; id++) out.set(id, this.#decode(bytes, (id - first) * rb, scales?.getFloat32((id - first) * 4, true) ?? 1));
    return out;
  }

  /**
   * Rows for the given ids (any order, repeats allowed).
   * @returns id -> [dim] float32
   */
  async rows(ids: Iterable<number>): Promise<Map<number, Float32Array>> {
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    const out = new Map<number, Float32Array>();
    const waits: Promise<void>[] = [];
    const missing: number[] = [];
    for (const id of unique) {
      if (!Number.isInteger(id) || id < 0 || id >= this.spec.rows) {
        throw new SiglipError("INVALID_ARGUMENT", `token id ${id} outside the table [0, ${this.spec.rows})`);
      }
      const cached = this.#cache.get(id);
      const pending = this.#inflight.get(id);
      if (cached !== undefined) {
        this.stats.hits++;
        out.set(id, cached);
      } else if (pending !== undefined) {
        this.stats.hits++;
        waits.push(pending.then((r) => void out.set(id, r)));
      } else {
        missing.push(id);
      }
    }
    // Group missing ids into runs with small gaps; each run is one ranged read shared by concurrent callers.
    let i = 0;
    while (i < missing.length) {
      let j = i;
      while (j + 1 < missing.length && (missing[j + 1] as number) - (missing[j] as number) <= this.#gap) j++;
      const first = missing[i] as number;
      const last = missing[j] as number;
      const run = this.#readRun(first, last);
      for (const id of missing.slice(i, j + 1)) {
        const p = run.then((m) => m.get(id) as Float32Array);
        this.#inflight.set(id, p);
        waits.push(
          p.then(
            (r) => {
              this.stats.fetched++;
              this.#cache.set(id, r);
              out.set(id, r);
            },
          ).finally(() => this.#inflight.delete(id)),
        );
      }
      i = j + 1;
    }
    await Promise.all(waits);
    return out;
  }

  /**
   * `inputs_embeds` for a batch of token id sequences.
   * @param ids [B, T] int32, row-major
   * @param into where to write them ([B, T, dim]); default a new array
   * @returns [B, T, dim] float32
   */
  async embed(ids: Int32Array, batch: number, length: number, into?: Float32Array): Promise<Float32Array> {
    const rows = await this.rows(ids);
    const { dim } = this.spec;
    const out = into ?? new Float32Array(batch * length * dim);
    for (let k = 0; k < batch * length; k++) out.set(rows.get(ids[k] as number) as Float32Array, k * dim);
    return out;
  }
}
