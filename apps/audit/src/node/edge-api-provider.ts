/**
 * Embeddings from a running siglip-edge API (`siglip serve` or the Cloudflare Worker): OpenAI-shaped
 * `POST /v1/embeddings` with base64 float32 output, texts as strings and images as `data:` URIs. The cache revision
 * is the server's `x-model-revision` header; a revision change mid-run stops the run (vector drift).
 * @module
 */
import { base64ToFloat32, SiglipError } from "@siglip-edge/core";
import type { EmbeddingProvider, ImageInput } from "./providers.ts";

export interface EdgeApiOptions {
  /** Model id to request (the server's default when omitted). */
  model?: string;
  /** Bearer token (e.g. from SIGLIP_API_KEY). */
  apiKey?: string;
  /** Per-request caps; the API's defaults are 256 texts and 32 images. */
  maxTexts?: number;
  maxImages?: number;
  /** NaFlex models: `max_num_patches` of every image request (part of the cache revision: other budgets, other vectors). */
  maxNumPatches?: number;
}

type Part = string | { type: "image_url"; image_url: string };

function mimeOf(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return "image/png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[8] === 0x57) return "image/webp";
  if (bytes[0] === 0x47 && bytes[1] === 0x49) return "image/gif";
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return "image/bmp";
  return "application/octet-stream";
}

export class EdgeApiProvider implements EmbeddingProvider {
  readonly kind = "edge-api";
  readonly standIn = false;
  model = "";
  revision = "";
  dim = 0;
  readonly #url: string;
  readonly #opts: EdgeApiOptions;

  private constructor(url: string, opts: EdgeApiOptions) {
    this.#url = url.replace(/\/+$/, "");
    this.#opts = opts;
  }

  /** Connects with one small request that tells the model id, revision and width. */
  static async connect(url: string, opts: EdgeApiOptions = {}): Promise<EdgeApiProvider> {
    let model = opts.model;
    if (model === undefined) {
      // The API needs a model id: take the server's only model from GET /v1/models.
      const p0 = new EdgeApiProvider(url, opts);
      const list = await p0.#getModels();
      if (list.length !== 1) {
        throw new SiglipError("INVALID_ARGUMENT", `the server offers ${list.length} models (${list.join(", ")}); choose one with --api-model`);
      }
      model = list[0];
    }
    const p = new EdgeApiProvider(url, { ...opts, model });
    const v = await p.#post(["a"]);
    p.dim = v.length;
    return p;
  }

  async #getModels(): Promise<string[]> {
    let res: Response;
    try {
      res = await fetch(`${this.#url}/v1/models`, { headers: this.#opts.apiKey ? { authorization: `Bearer ${this.#opts.apiKey}` } : {} });
    } catch (err) {
      throw new SiglipError("BACKEND_UNAVAILABLE", `cannot reach ${this.#url}/v1/models`, { cause: err });
    }
    const json = (await res.json().catch(() => ({}))) as { data?: { id?: unknown }[] };
    if (!res.ok || !Array.isArray(json.data)) throw new SiglipError("BACKEND_BAD_RESPONSE", `${this.#url}/v1/models answered ${res.status}`);
    return json.data.flatMap((m) => (typeof m.id === "string" ? [m.id] : []));
  }

  async #post(input: Part[]): Promise<Float32Array> {
    const body: Record<string, unknown> = { input, encoding_format: "base64" };
    if (this.#opts.model !== undefined) body["model"] = this.#opts.model;
    if (this.#opts.maxNumPatches !== undefined && input.some((p) => typeof p !== "string")) body["max_num_patches"] = this.#opts.maxNumPatches;
    let res: Response;
    try {
      res = await fetch(`${this.#url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(this.#opts.apiKey ? { authorization: `Bearer ${this.#opts.apiKey}` } : {}) },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new SiglipError("BACKEND_UNAVAILABLE", `cannot reach ${this.#url}/v1/embeddings`, { cause: err });
    }
    const text = await res.text();
    let json: { data?: { index: number; embedding: string }[]; model?: string; error?: { message?: string; code?: string } };
    try {
      json = JSON.parse(text) as typeof json;
    } catch (err) {
      throw new SiglipError("BACKEND_BAD_RESPONSE", `${this.#url} answered ${res.status} with a non-JSON body`, { cause: err });
    }
    if (!res.ok || json.data === undefined) {
      throw new SiglipError("BACKEND_BAD_RESPONSE", `${this.#url} answered ${res.status}: ${json.error?.code ?? ""} ${json.error?.message ?? text.slice(0, 200)}`.trim());
    }
    const revision = `${res.headers.get("x-model-revision") ?? "unknown"}${this.#opts.maxNumPatches === undefined ? "" : `+patches-${this.#opts.maxNumPatches}`}`;
    if (this.revision === "") {
      this.revision = revision;
      this.model = json.model ?? "unknown";
    } else if (revision !== this.revision || (json.model ?? "unknown") !== this.model) {
      throw new SiglipError("BACKEND_BAD_RESPONSE", `the server switched from ${this.model}@${this.revision} to ${json.model}@${revision} during the audit`);
    }
    const rows = [...json.data].sort((a, b) => a.index - b.index).map((d) => base64ToFloat32(d.embedding));
    if (rows.length !== input.length) throw new SiglipError("BACKEND_BAD_RESPONSE", `${rows.length} embeddings for ${input.length} inputs`);
    const D = rows[0]?.length ?? 0;
    const out = new Float32Array(rows.length * D);
    rows.forEach((r, i) => {
      if (r.length !== D) throw new SiglipError("BACKEND_BAD_RESPONSE", "embeddings of different widths in one response");
      out.set(r, i * D);
    });
    return out;
  }

  async #chunked(parts: Part[], max: number): Promise<Float32Array> {
    const out = new Float32Array(parts.length * this.dim);
    for (let i = 0; i < parts.length; i += max) out.set(await this.#post(parts.slice(i, i + max)), i * this.dim);
    return out;
  }

  embedTexts(texts: readonly string[]): Promise<Float32Array> {
    return this.#chunked([...texts], this.#opts.maxTexts ?? 256);
  }

  embedImages(images: readonly ImageInput[]): Promise<Float32Array> {
    const parts = images.map((im): Part => ({ type: "image_url", image_url: `data:${mimeOf(im.bytes)};base64,${Buffer.from(im.bytes).toString("base64")}` }));
    return this.#chunked(parts, this.#opts.maxImages ?? 32);
  }
}
