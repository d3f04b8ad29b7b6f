/**
 * Tower roles (B/16 at the edge): each tower runs in its own Worker, so each isolate holds one graph within its
 * 128 MB. The API Worker calls them through service bindings with a small internal protocol:
 * `POST /internal/embed-text` `{model, texts, lowercase}` -> `{tokens, dim, embeddings: base64 float32 [N*D]}` and
 * `POST /internal/embed-images` `{model, images: base64[]}` -> `{dim, embeddings}`. Errors travel as the API's error
 * envelope and are re-raised with their code.
 * @module
 */
import { SiglipError, type ErrorCode } from "@siglip-edge/core";
import type { EmbedTextOptions, ModelCard, SiglipPipeline, TextEmbeddings } from "@siglip-edge/runtime";

export interface Fetcher {
  fetch(request: Request): Promise<Response>;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** [N*D] float32 as base64 and back, split into N vectors. */
export function packVectors(vs: readonly Float32Array[]): string {
  const D = vs[0]?.length ?? 0;
  const all = new Float32Array(vs.length * D);
  vs.forEach((v, i) => all.set(v, i * D));
  return bytesToBase64(new Uint8Array(all.buffer));
}

export function unpackVectors(b64: string, dim: number): Float32Array[] {
  const bytes = base64ToBytes(b64);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return Array.from({ length: dim === 0 ? 0 : all.length / dim }, (_, i) => all.slice(i * dim, (i + 1) * dim));
}

async function callTower<T>(tower: Fetcher, path: string, body: unknown): Promise<T> {
  const res = await tower.fetch(new Request(`https://tower.internal${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  const json = (await res.json()) as T & { error?: { code: string; message: string; siglip_code?: ErrorCode; details?: Record<string, unknown> } };
  if (!res.ok || json.error) {
    const e = json.error;
    throw new SiglipError(e?.siglip_code ?? "BACKEND_BAD_RESPONSE", e?.message ?? `tower answered HTTP ${res.status}`, e?.details ? { details: e.details } : {});
  }
  return json;
}

/** Int32 rows as base64 (little-endian) and back. */
export function packIds(rows: readonly Int32Array[]): string {
  const T = rows[0]?.length ?? 0;
  const all = new Int32Array(rows.length * T);
  rows.forEach((r, i) => all.set(r, i * T));
  return bytesToBase64(new Uint8Array(all.buffer));
}

export function unpackIds(b64: string, length: number): Int32Array[] {
  const bytes = base64ToBytes(b64);
  const all = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return Array.from({ length: length === 0 ? 0 : all.length / length }, (_, i) => all.slice(i * length, (i + 1) * length));
}

/** A tower role's answer: embeddings, or (from a stage that is not the last) hidden states for the next stage. */
type TowerAnswer = { tokens?: number } & ({ dim: number; embeddings: string } | { dims: number[]; hidden: string });

/**
 * Sends a tower's first request to stage 0, then each stage's hidden states to the next stage until one answers
 * with embeddings. An unstaged tower is a chain of one.
 */
async function runChain(stages: readonly Fetcher[], tower: "vision" | "textSplit", model: string, path: string, body: unknown): Promise<{ tokens?: number; dim: number; embeddings: string }> {
  const first = stages[0];
  if (first === undefined) throw new SiglipError("INTERNAL", `no Worker bound for the ${tower} tower`);
  let r = await callTower<TowerAnswer>(first, path, body);
  const tokens = r.tokens;
  for (let k = 1; "hidden" in r; k++) {
    const next = stages[k];
    if (next === undefined) throw new SiglipError("BACKEND_BAD_RESPONSE", `${tower} stage ${k - 1} returned hidden states but no Worker is bound for stage ${k}`);
    r = await callTower<TowerAnswer>(next, "/internal/stage", { model, tower, dims: r.dims, hidden: r.hidden });
  }
  return { ...(tokens === undefined ? {} : { tokens }), dim: r.dim, embeddings: r.embeddings };
}

/**
 * A pipeline whose towers run in other Workers. `card` and `logit` come from the bundle manifest read locally. With
 * `tokenize`, texts are tokenized here and the text role receives ids only (it then never loads the tokenizer).
 * Each tower is a list of stage Workers (one for an unstaged bundle).
 */
export function remotePipeline(
  base: Pick<SiglipPipeline, "card" | "logit">,
  towers: { text: readonly Fetcher[]; vision: readonly Fetcher[] },
  tokenize?: (texts: readonly string[], lowercase: EmbedTextOptions["lowercase"]) => Promise<Int32Array[]>,
): SiglipPipeline {
  const card: ModelCard = base.card;
  return {
    card,
    logit: base.logit,
    async embedTexts(texts: readonly string[], options: EmbedTextOptions = {}): Promise<TextEmbeddings> {
      const body = tokenize
        ? await (async () => {
            const rows = await tokenize(texts, options.lowercase);
            return { model: card.id, ids: packIds(rows), length: rows[0]?.length ?? 0 };
          })()
        : { model: card.id, texts, lowercase: options.lowercase };
      const r = await runChain(towers.text, "textSplit", card.id, "/internal/embed-text", body);
      return { tokens: r.tokens ?? 0, embeddings: unpackVectors(r.embeddings, r.dim) };
    },
    async embedImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
      const r = await runChain(towers.vision, "vision", card.id, "/internal/embed-images", { model: card.id, images: images.map(bytesToBase64) });
      return unpackVectors(r.embeddings, r.dim);
    },
  };
}
