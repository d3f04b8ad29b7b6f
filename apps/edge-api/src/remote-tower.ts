/**
 * Tower roles (B/16 at the edge): each tower runs in its own Worker, so each isolate holds one graph within its
 * 128 MB. The API Worker calls them through service bindings with a small internal protocol:
 * `POST /internal/embed-text` `{model, texts, lowercase}` -> `{tokens, dim, embeddings: base64 float32 [N*D]}` and
 * `POST /internal/embed-pixels` (body: the images decoded and resized here, raw uint8 `[B, S, S, 3]`, dims in
 * `x-siglip-dims`, model in `x-siglip-model`) -> `{dim, embeddings}`; `POST /internal/embed-images`
 * `{model, images: base64[]}` (encoded files, decoded by the tower) is kept for other callers. The API sends at most
 * 4 images or 16 texts per call, so no tower holds a whole request's activations. In a staged deployment those go
 * to stage 0, which answers hidden states as a binary body (`application/x-siglip-hidden`, dims in `x-siglip-dims`);
 * the API forwards that body to `POST /internal/stage` of the next stage, and so on. Errors travel as the API's
 * error envelope and are re-raised with their code.
 * @module
 */
import { base64ToBytes, bytesToBase64, SiglipError, type ErrorCode } from "@siglip-edge/core";
import { atImageIndex, byobReader, type EmbedTextOptions, type ModelCard, type SiglipPipeline, type SizedImage, type TextEmbeddings } from "@siglip-edge/runtime";

export interface Fetcher {
  fetch(request: Request): Promise<Response>;
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

/** Hidden states between stages: raw little-endian float32 `[B, N, D]`, dims in a header (no base64, no JSON). */
export const HIDDEN_TYPE = "application/x-siglip-hidden";
/** Sized images from the API to the vision tower: raw uint8 `[B, S, S, 3]`, dims in the same header. */
export const PIXELS_TYPE = "application/x-siglip-rgb";
export const DIMS_HEADER = "x-siglip-dims";
export const MODEL_HEADER = "x-siglip-model";
/** Images and texts per tower call (the towers' own batch sizes): bounds every stage's activations per request. */
const IMAGES_PER_CALL = 4;
const TEXTS_PER_CALL = 16;
const TOKENS_HEADER = "x-siglip-tokens";

/** workerd's native pass-through stream: a write completes once the reader has taken the bytes. */
type FixedLengthStreamCtor = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

/**
 * A stage's hidden states as the binary response the next hop forwards unchanged. In workerd the body is a native
 * `FixedLengthStream` fed with `data` itself, and `release` runs once the reader has taken it (`data` may be a pooled
 * buffer the next run reuses); a `Response` made from the array would copy it into a new buffer per request, left as
 * garbage (600 KiB per image at a B/16 stage boundary). Elsewhere the bytes are copied and released at once.
 */
export function hiddenResponse(data: Float32Array, dims: readonly number[], tokens?: number, release?: () => void): Response {
  const headers: Record<string, string> = { "content-type": HIDDEN_TYPE, [DIMS_HEADER]: dims.join(",") };
  if (tokens !== undefined) headers[TOKENS_HEADER] = String(tokens);
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const Fixed = (globalThis as { FixedLengthStream?: FixedLengthStreamCtor }).FixedLengthStream;
  if (Fixed === undefined) {
    const res = new Response(bytes.slice(), { headers });
    release?.();
    return res;
  }
  const { readable, writable } = new Fixed(bytes.byteLength);
  const writer = writable.getWriter();
  void writer
    .write(bytes)
    .then(() => writer.close())
    .catch(() => undefined) // the reader went away: nothing to send
    .finally(() => release?.());
  return new Response(readable, { headers });
}

/** Largest tower request body (4 images of 512 px as hidden states of a So400m/14 are ~20 MiB). */
const MAX_TOWER_BODY = 64 * 2 ** 20;

/**
 * Parses `x-siglip-dims` (positive integers, at most 64 MiB of data), or throws `INVALID_ARGUMENT`.
 * @param layout `hidden`: float32 [B, N, D]; `pixels`: uint8 [B, S, S, 3]
 * @returns the dims and the body size they describe
 */
export function parseDims(header: string | null, layout: "hidden" | "pixels" = "hidden"): { dims: number[]; bytes: number } {
  const dims = (header ?? "").split(",").map(Number);
  const [rank, item, shape] = layout === "hidden" ? [3, 4, "[B, N, D] float32"] : [4, 1, "[B, S, S, 3] uint8"];
  const bytes = dims.reduce((a, b) => a * b, item);
  if (dims.length !== rank || dims.some((d) => !Number.isInteger(d) || d <= 0) || bytes > MAX_TOWER_BODY || (layout === "pixels" && dims[3] !== 3)) {
    throw new SiglipError("INVALID_ARGUMENT", `${layout}: ${DIMS_HEADER} "${header ?? ""}" does not describe a ${shape} body of at most ${MAX_TOWER_BODY} bytes`);
  }
  return { dims, bytes };
}

/**
 * Reads a body of exactly `into.byteLength` bytes into `into`'s memory, with a BYOB reader where the stream offers one
 * (workerd's request bodies do): the memory moves from view to view, so no ArrayBuffer is allocated per request.
 * Other streams are copied chunk by chunk. Throws `INVALID_ARGUMENT` when the body is shorter or longer.
 * @returns the bytes, a view over `into`'s memory (`into` itself may be detached: use the result from now on)
 */
export async function readBodyInto(body: ReadableStream<Uint8Array> | null, into: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const want = into.byteLength;
  const short = (got: number) => new SiglipError("INVALID_ARGUMENT", `request body: ${got} bytes, the ${DIMS_HEADER} header describes ${want}`);
  if (body === null) {
    if (want === 0) return into;
    throw short(0);
  }
  const byob = byobReader(body);
  if (byob === undefined) {
    const reader = body.getReader();
    let at = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.byteLength > want) throw short(at + value.byteLength);
      into.set(value, at);
      at += value.byteLength;
    }
    if (at !== want) throw short(at);
    return into;
  }
  let buffer = into.buffer;
  let at = 0;
  while (at < want) {
    const { done, value } = await byob.read(new Uint8Array(buffer, at, want - at));
    if (value !== undefined) buffer = value.buffer as ArrayBuffer;
    if (done) throw short(at);
    at += value.byteLength;
  }
  // One more read must report the end: a longer body is refused rather than cut.
  const tail = await byob.read(new Uint8Array(1));
  if (!tail.done) throw short(want + 1);
  return new Uint8Array(buffer, 0, want);
}

/** A `[B, S, S, 3]` pixels body as B sized images (views, no copies). */
export function unpackPixels(bytes: Uint8Array, dims: readonly number[]): SizedImage[] {
  const [B, H, W] = dims as [number, number, number];
  const n = H * W * 3;
  return Array.from({ length: B }, (_, b) => ({ width: W, height: H, channels: 3, data: bytes.subarray(b * n, (b + 1) * n) }));
}

type TowerError = { error?: { code: string; message: string; siglip_code?: ErrorCode; details?: Record<string, unknown> } };

function towerError(res: Response, json: TowerError): SiglipError {
  const e = json.error;
  return new SiglipError(e?.siglip_code ?? "BACKEND_BAD_RESPONSE", e?.message ?? `tower answered HTTP ${res.status}`, e?.details ? { details: e.details } : {});
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

/** The last stage's (or an unstaged tower's) answer. */
type Embeddings = { tokens?: number; dim: number; embeddings: string };

/**
 * Sends a tower's first request to stage 0, then each stage's hidden states (binary, forwarded as received) to the
 * next stage until one answers with embeddings. An unstaged tower is a chain of one.
 * @param first path and request of stage 0
 */
async function runChain(stages: readonly Fetcher[], tower: "vision" | "textSplit", model: string, first: { path: string; init: RequestInit }): Promise<Embeddings> {
  let tokens: number | undefined;
  let res: Response | undefined;
  for (let k = 0; k < stages.length; k++) {
    const stage = stages[k] as Fetcher;
    res =
      k === 0
        ? await stage.fetch(new Request(`https://tower.internal${first.path}`, { method: "POST", ...first.init }))
        : await stage.fetch(
            new Request("https://tower.internal/internal/stage", {
              method: "POST",
              headers: { "content-type": HIDDEN_TYPE, [DIMS_HEADER]: (res as Response).headers.get(DIMS_HEADER) ?? "", [MODEL_HEADER]: model, "x-siglip-tower": tower },
              body: (res as Response).body,
            }),
          );
    if (res.ok && res.headers.get("content-type") === HIDDEN_TYPE) {
      const t = res.headers.get("x-siglip-tokens");
      if (t !== null) tokens = Number(t);
      continue; // forwarded to the next stage
    }
    const json = (await res.json()) as Embeddings & TowerError;
    if (!res.ok || json.error) throw towerError(res, json);
    return { ...json, ...(json.tokens === undefined && tokens !== undefined ? { tokens } : {}) };
  }
  await res?.body?.cancel();
  if (stages.length === 0) throw new SiglipError("INTERNAL", `no Worker bound for the ${tower} tower`);
  throw new SiglipError("BACKEND_BAD_RESPONSE", `${tower} stage ${stages.length - 1} returned hidden states but no Worker is bound for stage ${stages.length}`);
}

const json = (body: unknown): RequestInit => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** `xs` in consecutive slices of at most `n`. */
function slices<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Sized images as one `[B, S, S, 3]` body. */
function packPixels(images: readonly SizedImage[]): { dims: number[]; body: Uint8Array<ArrayBuffer> } {
  const [H, W] = [images[0]?.height ?? 0, images[0]?.width ?? 0];
  const n = H * W * 3;
  const body = new Uint8Array(images.length * n);
  images.forEach((im, b) => {
    if (im.width !== W || im.height !== H || im.channels !== 3 || im.data.length !== n) throw new SiglipError("INTERNAL", "sized images of one call must share one [S, S, 3] shape");
    body.set(im.data, b * n);
  });
  return { dims: [images.length, H, W, 3], body };
}

/**
 * A pipeline whose towers run in other Workers. `card` and `logit` come from the bundle manifest read locally. With
 * `tokenize`, texts are tokenized here and the text role receives ids only (it then never loads the tokenizer). With
 * `prepare`, images are decoded and resized here and the vision role receives S x S uint8 pixels (it then decodes
 * nothing: no image buffers next to its weights). Each tower is a list of stage Workers (one for an unstaged bundle).
 */
export function remotePipeline(
  base: Pick<SiglipPipeline, "card" | "logit">,
  towers: { text: readonly Fetcher[]; vision: readonly Fetcher[] },
  tokenize?: (texts: readonly string[], lowercase: EmbedTextOptions["lowercase"]) => Promise<Int32Array[]>,
  prepare?: (image: Uint8Array) => Promise<SizedImage>,
): SiglipPipeline {
  const card: ModelCard = base.card;
  const textCall = async (texts: readonly string[], options: EmbedTextOptions): Promise<TextEmbeddings> => {
    const body = tokenize
      ? await (async () => {
          const rows = await tokenize(texts, options.lowercase);
          return { model: card.id, ids: packIds(rows), length: rows[0]?.length ?? 0 };
        })()
      : { model: card.id, texts, lowercase: options.lowercase };
    const r = await runChain(towers.text, "textSplit", card.id, { path: "/internal/embed-text", init: json(body) });
    return { tokens: r.tokens ?? 0, embeddings: unpackVectors(r.embeddings, r.dim) };
  };
  const imageCall = async (images: readonly Uint8Array[], first: number): Promise<Float32Array[]> => {
    if (prepare === undefined) {
      const r = await runChain(towers.vision, "vision", card.id, { path: "/internal/embed-images", init: json({ model: card.id, images: images.map(bytesToBase64) }) });
      return unpackVectors(r.embeddings, r.dim);
    }
    const sized: SizedImage[] = [];
    for (let b = 0; b < images.length; b++) {
      try {
        sized.push(await prepare(images[b] as Uint8Array));
      } catch (err) {
        throw atImageIndex(err, first + b);
      }
    }
    const { dims, body } = packPixels(sized);
    const init = { headers: { "content-type": PIXELS_TYPE, [DIMS_HEADER]: dims.join(","), [MODEL_HEADER]: card.id }, body };
    const r = await runChain(towers.vision, "vision", card.id, { path: "/internal/embed-pixels", init });
    return unpackVectors(r.embeddings, r.dim);
  };
  return {
    card,
    logit: base.logit,
    async embedTexts(texts: readonly string[], options: EmbedTextOptions = {}): Promise<TextEmbeddings> {
      const out: TextEmbeddings = { tokens: 0, embeddings: [] };
      for (const part of slices(texts, TEXTS_PER_CALL)) {
        const r = await textCall(part, options);
        out.tokens += r.tokens;
        out.embeddings.push(...r.embeddings);
      }
      return out;
    },
    async embedImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
      const out: Float32Array[] = [];
      for (const [k, part] of slices(images, IMAGES_PER_CALL).entries()) out.push(...(await imageCall(part, k * IMAGES_PER_CALL)));
      return out;
    },
  };
}
