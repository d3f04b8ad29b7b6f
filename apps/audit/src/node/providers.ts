/**
 * Embedding providers for `siglip audit run`. A provider turns texts and images into [n, D] float32 embeddings for
 * one model revision; the runner batches, caches and resumes around it. The real model providers (a local bundle
 * through @siglip-edge/runtime, the edge API by URL, a KServe v2 backend) implement the same interface.
 * @module
 */
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
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

/**
 * Embeddings computed elsewhere: DIR/texts.json (array of strings) + DIR/texts.npy [T, D], and DIR/images.json
 * (array of image keys) + DIR/images.npy [I, D]; DIR/model.json may give {"model", "revision"}.
 */
export class PrecomputedProvider implements EmbeddingProvider {
  readonly kind = "precomputed";
  readonly model: string;
  readonly revision: string;
  readonly dim: number;
  readonly standIn = false;
  readonly #texts = new Map<string, Float32Array>();
  readonly #images = new Map<string, Float32Array>();

  constructor(dir: string) {
    const load = (name: string, into: Map<string, Float32Array>): number => {
      let keys: unknown;
      let bytes: Uint8Array;
      try {
        keys = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
        bytes = new Uint8Array(readFileSync(join(dir, `${name}.npy`))); // not a pooled Buffer view (decodeNpy slices)
      } catch (err) {
        throw new SiglipError("NOT_FOUND", `precomputed embeddings need ${name}.json and ${name}.npy in ${dir}`, { cause: err });
      }
      const t = toFloat32(decodeNpy(bytes));
      if (!Array.isArray(keys) || t.dims.length !== 2 || t.dims[0] !== keys.length) {
        throw new SiglipError("SHAPE_MISMATCH", `${name}.json lists ${Array.isArray(keys) ? keys.length : "?"} keys for ${name}.npy of shape [${t.dims.join(", ")}]`);
      }
      const D = t.dims[1] as number;
      keys.forEach((k, i) => into.set(String(k), t.data.slice(i * D, (i + 1) * D)));
      return D;
    };
    const dt = load("texts", this.#texts);
    const di = load("images", this.#images);
    if (dt !== di) throw new SiglipError("SHAPE_MISMATCH", `text width ${dt} differs from image width ${di}`);
    this.dim = dt;
    let meta: { model?: string; revision?: string } = {};
    try {
      meta = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as typeof meta;
    } catch {
      // model.json is optional
    }
    this.model = meta.model ?? `precomputed:${dir}`;
    this.revision = meta.revision ?? "unknown";
  }

  #rows(keys: readonly string[], from: Map<string, Float32Array>, what: string): Promise<Float32Array> {
    const out = new Float32Array(keys.length * this.dim);
    keys.forEach((k, i) => {
      const v = from.get(k);
      if (v === undefined) throw new SiglipError("NOT_FOUND", `no precomputed embedding for ${what} ${JSON.stringify(k)}`);
      out.set(v, i * this.dim);
    });
    return Promise.resolve(out);
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
