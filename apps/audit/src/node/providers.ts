/**
 * Embedding providers for `siglip audit run`. A provider turns texts and images into [n, D] float32 embeddings for
 * one model revision; the runner batches, caches and resumes around it. The real model providers (a local bundle
 * through @siglip-edge/runtime, the edge API by URL, a KServe v2 backend) implement the same interface.
 * @module
 */
import { createHash } from "node:crypto";
import { appendFileSync, closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeNpy, SiglipError, toFloat32 } from "@siglip-edge/core";
import { createRng } from "@siglip-edge/metrics";

export interface ImageInput {
  key: string;
  path: string;
  bytes: Uint8Array;
}

export interface EmbeddingProvider {
  /** Provider kind, e.g. "stand-in", "precomputed", "bundle", "edge-api", "kserve". */
  readonly kind: string;
  /** Model id as reported (e.g. "google/siglip2-base-patch16-224"). */
  readonly model: string;
  /** Model revision: part of the cache key, so a new revision recomputes everything. */
  readonly revision: string;
  readonly dim: number;
  /** True when the vectors do not come from a real model; the report and the CLI say so. */
  readonly standIn: boolean;
  readonly note?: string;
  /** [texts.length, dim] row-major float32. */
  embedTexts(texts: readonly string[]): Promise<Float32Array>;
  /** [images.length, dim] row-major float32. */
  embedImages(images: readonly ImageInput[]): Promise<Float32Array>;
  close?(): Promise<void>;
}

export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/**
 * A deterministic stand-in for a model: each input's vector is drawn from a PRNG seeded by its SHA-256, so results
 * are reproducible and carry no meaning (retrieval at chance level). For tests of the pipeline, not for audits.
 * Set SIGLIP_AUDIT_STANDIN_LOG to a file to log every computed input hash (the kill/resume test counts them), and
 * SIGLIP_AUDIT_STANDIN_DELAY_MS to slow each batch down.
 */
export class StandInProvider implements EmbeddingProvider {
  readonly kind = "stand-in";
  readonly model = "stand-in/hash-embeddings";
  readonly revision = "stand-in-v1";
  readonly standIn = true;
  readonly note = "STAND-IN: vectors are pseudo-random functions of each input's hash, not a model. Plug in the model runtime provider for real numbers.";
  readonly dim: number;
  readonly #log: string | undefined;
  readonly #delayMs: number;

  constructor(opts: { dim?: number; log?: string; delayMs?: number } = {}) {
    this.dim = opts.dim ?? 64;
    this.#log = opts.log;
    this.#delayMs = opts.delayMs ?? 0;
  }

  #vector(hash: string): Float32Array {
    const rng = createRng(Number.parseInt(hash.slice(0, 12), 16));
    return Float32Array.from({ length: this.dim }, () => rng.next() * 2 - 1);
  }

  async #embed(hashes: string[], kind: string): Promise<Float32Array> {
    if (this.#delayMs > 0) await new Promise((r) => setTimeout(r, this.#delayMs));
    if (this.#log !== undefined) appendFileSync(this.#log, hashes.map((h) => `${kind} ${h}\n`).join(""));
    const out = new Float32Array(hashes.length * this.dim);
    hashes.forEach((h, i) => out.set(this.#vector(h), i * this.dim));
    return out;
  }

  embedTexts(texts: readonly string[]): Promise<Float32Array> {
    return this.#embed(texts.map((t) => sha256(t)), "text");
  }

  embedImages(images: readonly ImageInput[]): Promise<Float32Array> {
    return this.#embed(images.map((im) => sha256(im.bytes)), "image");
  }
}

/** Rows of a C-order little-endian float32 `.npy` read on demand (positional reads), so the file never sits in memory. */
interface LazyRows {
  path: string;
  /** Byte offset of row 0. */
  start: number;
  dim: number;
}

/** The data offset and width of an [N, D] `<f4` C-order `.npy` with N rows, or undefined for anything else. */
function lazyNpy(path: string, rows: number): LazyRows | undefined {
  const head = new Uint8Array(4096);
  const fd = openSync(path, "r");
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const view = new DataView(head.buffer);
  const major = head[6];
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (n < 12 || magic.some((b, i) => head[i] !== b) || (major !== 1 && major !== 2 && major !== 3)) return undefined;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > n) return undefined;
  const header = new TextDecoder().decode(head.subarray(major === 1 ? 10 : 12, start));
  const shape = /'shape'\s*:\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\)/.exec(header);
  if (!/'descr'\s*:\s*'<f4'/.test(header) || !/'fortran_order'\s*:\s*False/.test(header) || shape === null || Number(shape[1]) !== rows) return undefined;
  return { path, start, dim: Number(shape[2]) };
}

/**
 * Embeddings computed elsewhere: DIR/texts.json (array of strings) + DIR/texts.npy [T, D], and DIR/images.json
 * (array of image keys) + DIR/images.npy [I, D]; DIR/model.json may give {"model", "revision"}. float32 files are
 * read row by row when asked for (XM3600's 36 languages at D = 768 are 0.8 GB of text vectors); other dtypes are
 * converted in memory.
 */
export class PrecomputedProvider implements EmbeddingProvider {
  readonly kind = "precomputed";
  readonly model: string;
  readonly revision: string;
  readonly dim: number;
  readonly standIn = false;
  readonly #texts: Source;
  readonly #images: Source;

  constructor(dir: string) {
    const load = (name: string): Source => {
      let keys: unknown;
      const npy = join(dir, `${name}.npy`);
      try {
        keys = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
      } catch (err) {
        throw new SiglipError("NOT_FOUND", `precomputed embeddings need ${name}.json and ${name}.npy in ${dir}`, { cause: err });
      }
      if (!Array.isArray(keys)) throw new SiglipError("INVALID_ARGUMENT", `${name}.json must be an array of keys`);
      const index = new Map(keys.map((k, i) => [String(k), i]));
      let lazy: LazyRows | undefined;
      try {
        lazy = lazyNpy(npy, keys.length);
        if (lazy !== undefined && statSync(npy).size < lazy.start + keys.length * lazy.dim * 4) lazy = undefined;
      } catch (err) {
        throw new SiglipError("NOT_FOUND", `precomputed embeddings need ${name}.json and ${name}.npy in ${dir}`, { cause: err });
      }
      if (lazy !== undefined) return { index, dim: lazy.dim, lazy };
      const t = toFloat32(decodeNpy(new Uint8Array(readFileSync(npy)))); // not a pooled Buffer view (decodeNpy slices)
      if (t.dims.length !== 2 || t.dims[0] !== keys.length) {
        throw new SiglipError("SHAPE_MISMATCH", `${name}.json lists ${keys.length} keys for ${name}.npy of shape [${t.dims.join(", ")}]`);
      }
      return { index, dim: t.dims[1] as number, data: t.data };
    };
    this.#texts = load("texts");
    this.#images = load("images");
    if (this.#texts.dim !== this.#images.dim) throw new SiglipError("SHAPE_MISMATCH", `text width ${this.#texts.dim} differs from image width ${this.#images.dim}`);
    this.dim = this.#texts.dim;
    let meta: { model?: string; revision?: string } = {};
    try {
      meta = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as typeof meta;
    } catch {
      // model.json is optional
    }
    this.model = meta.model ?? `precomputed:${dir}`;
    this.revision = meta.revision ?? "unknown";
  }

  // async: an unknown key rejects the promise rather than throwing at the call
  async #rows(keys: readonly string[], from: Source, what: string): Promise<Float32Array> {
    const D = this.dim;
    const out = new Float32Array(keys.length * D);
    const bytes = new Uint8Array(out.buffer);
    const fd = from.lazy === undefined ? undefined : openSync(from.lazy.path, "r");
    try {
      keys.forEach((k, i) => {
        const row = from.index.get(k);
        if (row === undefined) throw new SiglipError("NOT_FOUND", `no precomputed embedding for ${what} ${JSON.stringify(k)}`);
        if (fd !== undefined && from.lazy !== undefined) readSync(fd, bytes, i * D * 4, D * 4, from.lazy.start + row * D * 4);
        else out.set((from.data as Float32Array).subarray(row * D, (row + 1) * D), i * D);
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return out;
  }

  embedTexts(texts: readonly string[]): Promise<Float32Array> {
    return this.#rows(texts, this.#texts, "text");
  }

  embedImages(images: readonly ImageInput[]): Promise<Float32Array> {
    return this.#rows(
      images.map((im) => im.key),
      this.#images,
      "image",
    );
  }
}

/** Where a precomputed provider finds a key's vector: row `index.get(key)` of `data`, or of the file `lazy`. */
interface Source {
  index: Map<string, number>;
  dim: number;
  data?: Float32Array;
  lazy?: LazyRows;
}
