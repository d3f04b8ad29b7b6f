/**
 * The tower protocol (B/16 at the edge): each tower runs in its own Worker, or in K stage Workers, so each isolate
 * holds one graph within its 128 MB. The API Worker tokenizes and decodes; the towers get model inputs only. Binary
 * bodies, little-endian, row-major, dims in `x-siglip-dims`, the served model id in `x-siglip-model`:
 * - `POST /internal/embed-text`: token ids int32 `[B, T]` (`application/x-siglip-ids`);
 * - `POST /internal/embed-pixels`: FixRes images decoded and resized by the API, uint8 `[B, S, S, 3]`
 *   (`application/x-siglip-rgb`);
 * - `POST /internal/embed-naflex`: NaFlex images decoded and resized by the API to their NaFlex grids for the
 *   request's patch budget N, uint8, one after the other, image b `[h_b·P, w_b·P, 3]` (`application/x-siglip-naflex`);
 *   `x-siglip-dims: B,N,P` and `x-siglip-grid: h_0xw_0,h_1xw_1,...` (each image's patch grid, h·w <= N). The vision
 *   Worker cuts the patches, pads them to N rows, builds the key mask and resizes the position embeddings from the
 *   bundle's grid (it holds the grid next to its weights; the API Worker holds no model file but the tokenizer);
 * - `POST /internal/stage` (`x-siglip-tower: vision | textSplit`): a previous stage's hidden states float32
 *   `[B, N, D]` (`application/x-siglip-hidden`); for NaFlex vision stages with the same `x-siglip-grid`, from which
 *   the stage rebuilds the key mask.
 * A tower answers the embeddings float32 `[B, D]` (`application/x-siglip-embeddings`) or, from a stage that is not
 * the last, its hidden states, which the API forwards unchanged to the next stage. Errors travel as the API's error
 * envelope (500; 503 when the tower's queue is full) and are re-raised with their code. The API sends at most
 * `EDGE_BATCH` (4 images, 16 texts) per call, so no tower holds a whole request's activations.
 * This module is the whole protocol: the client (`workerTowers`, the API Worker's towers for `openModel`), the server
 * (`TowerServer`, in the tower Workers) and the codec both use; the memory benchmark drives towers through the client.
 * @module
 */
import { isSiglipError, SiglipError, tensor, type ErrorCode, type Tensor } from "@siglip-edge/core";
import { BufferPool, byobReader, EDGE_BATCH, ModelPipeline, type PatchGrid, type SiglipPipeline, type SizedImage, type StageOutput, type StagedTower, type Towers, type TowersFactory } from "@siglip-edge/runtime";

export interface Fetcher {
  fetch(request: Request): Promise<Response>;
}

export const TEXT_PATH = "/internal/embed-text";
export const PIXELS_PATH = "/internal/embed-pixels";
export const STAGE_PATH = "/internal/stage";
export const NAFLEX_PATH = "/internal/embed-naflex";
export const TOWER_PATHS: ReadonlySet<string> = new Set([TEXT_PATH, PIXELS_PATH, STAGE_PATH, NAFLEX_PATH]);

export const IDS_TYPE = "application/x-siglip-ids";
export const PIXELS_TYPE = "application/x-siglip-rgb";
export const HIDDEN_TYPE = "application/x-siglip-hidden";
export const EMBEDDINGS_TYPE = "application/x-siglip-embeddings";
export const DIMS_HEADER = "x-siglip-dims";
export const MODEL_HEADER = "x-siglip-model";
export const TOWER_HEADER = "x-siglip-tower";
export const NAFLEX_TYPE = "application/x-siglip-naflex";
export const GRID_HEADER = "x-siglip-grid";

// --- codec ------------------------------------------------------------------------------------------------------

/** The body layouts: rank, bytes per element, what the header must describe. */
const LAYOUTS = {
  ids: { rank: 2, item: 4, shape: "[B, T] int32" },
  pixels: { rank: 4, item: 1, shape: "[B, S, S, 3] uint8" },
  hidden: { rank: 3, item: 4, shape: "[B, N, D] float32" },
  embeddings: { rank: 2, item: 4, shape: "[B, D] float32" },
  naflex: { rank: 3, item: 1, shape: "B,N,P with an x-siglip-grid of B grids: uint8 images [h·P, w·P, 3], h·w <= N" },
} as const;
export type BodyLayout = keyof typeof LAYOUTS;

/** Largest tower body (4 images of 512 px as hidden states of a So400m/14 are ~20 MiB). */
const MAX_TOWER_BODY = 64 * 2 ** 20;

/**
 * Parses `x-siglip-dims` (positive integers, at most 64 MiB of data), or throws `INVALID_ARGUMENT`. The NaFlex layout
 * also takes `x-siglip-grid` (`grid`), whose patch grids give the body size.
 * @returns the dims, the body size they describe and (NaFlex) the patch grids
 */
export function parseDims(header: string | null, layout: BodyLayout, grid: string | null = null): { dims: number[]; bytes: number; grids?: PatchGrid[] } {
  const { rank, item, shape } = LAYOUTS[layout];
  const dims = (header ?? "").split(",").map(Number);
  const bad = () => new SiglipError("INVALID_ARGUMENT", `${layout}: ${DIMS_HEADER} "${header ?? ""}"${layout === "naflex" ? ` and ${GRID_HEADER} "${grid ?? ""}"` : ""} do${layout === "naflex" ? "" : "es"} not describe a ${shape} body of at most ${MAX_TOWER_BODY} bytes`);
  if (dims.length !== rank || dims.some((d) => !Number.isInteger(d) || d <= 0)) throw bad();
  if (layout === "naflex") {
    const [B, N, P] = dims as [number, number, number];
    const grids = parseGrid(grid, N);
    if (grids === undefined || grids.length !== B) throw bad();
    const bytes = grids.reduce((a, [h, w]) => a + h * w * P * P * 3, 0);
    if (bytes > MAX_TOWER_BODY) throw bad();
    return { dims, bytes, grids };
  }
  const bytes = dims.reduce((a, b) => a * b, item);
  if (bytes > MAX_TOWER_BODY || (layout === "pixels" && dims[3] !== 3)) throw bad();
  return { dims, bytes };
}

/** `h0xw0,h1xw1,...` to patch grids, each h·w <= N (undefined when malformed). */
export function parseGrid(header: string | null, N: number): PatchGrid[] | undefined {
  if (header === null || header === "") return undefined;
  const grids: PatchGrid[] = [];
  for (const part of header.split(",")) {
    const m = /^(\d{1,5})x(\d{1,5})$/.exec(part);
    const h = Number(m?.[1]);
    const w = Number(m?.[2]);
    if (m === null || !(h >= 1 && w >= 1 && h * w <= N)) return undefined;
    grids.push([h, w]);
  }
  return grids;
}

/** Patch grids as `x-siglip-grid`. */
export function gridHeader(grids: readonly PatchGrid[]): string {
  return grids.map(([h, w]) => `${h}x${w}`).join(",");
}

/** A typed array's bytes (a view, no copy). */
function bytesOf(data: Float32Array | Int32Array | Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/** workerd's native pass-through stream: a write completes once the reader has taken the bytes. */
type FixedLengthStreamCtor = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

/**
 * A tensor as a binary response. In workerd the body is a native `FixedLengthStream` fed with `data` itself, and
 * `release` runs once the reader has taken it (`data` may be a pooled buffer the next run reuses); a `Response` made
 * from the array would copy it into a new buffer per request, left as garbage (600 KiB per image at a B/16 stage
 * boundary). Elsewhere the bytes are copied and released at once.
 */
export function tensorResponse(type: string, data: Float32Array, dims: readonly number[], release?: () => void): Response {
  const headers = { "content-type": type, [DIMS_HEADER]: dims.join(",") };
  const bytes = bytesOf(data);
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

/** Sized images as one `[B, S, S, 3]` body. */
export function packPixels(images: readonly SizedImage[]): { dims: number[]; body: Uint8Array<ArrayBuffer> } {
  const [H, W] = [images[0]?.height ?? 0, images[0]?.width ?? 0];
  const n = H * W * 3;
  const body = new Uint8Array(images.length * n);
  images.forEach((im, b) => {
    if (im.width !== W || im.height !== H || im.channels !== 3 || im.data.length !== n) throw new SiglipError("INTERNAL", "sized images of one call must share one [S, S, 3] shape");
    body.set(im.data, b * n);
  });
  return { dims: [images.length, H, W, 3], body };
}

/** A `[B, S, S, 3]` pixels body as B sized images (views, no copies). */
export function unpackPixels(bytes: Uint8Array, dims: readonly number[]): SizedImage[] {
  const [B, H, W] = dims as [number, number, number];
  const n = H * W * 3;
  return Array.from({ length: B }, (_, b) => ({ width: W, height: H, channels: 3, data: bytes.subarray(b * n, (b + 1) * n) }));
}

/** NaFlex-sized images as one body (each `[h·P, w·P, 3]`, one after the other), with their dims and grid headers. */
export function packNaFlex(images: readonly SizedImage[], N: number, P: number): { dims: number[]; grids: PatchGrid[]; body: Uint8Array<ArrayBuffer> } {
  const grids = images.map((im): PatchGrid => [im.height / P, im.width / P]);
  const body = new Uint8Array(images.reduce((a, im) => a + im.data.length, 0));
  let at = 0;
  images.forEach((im, b) => {
    const [h, w] = grids[b] as PatchGrid;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h * w > N || im.channels !== 3 || im.data.length !== im.width * im.height * 3) throw new SiglipError("INTERNAL", `a NaFlex image must be [h·${P}, w·${P}, 3] with h·w <= ${N}`);
    body.set(im.data, at);
    at += im.data.length;
  });
  return { dims: [images.length, N, P], grids, body };
}

/** A NaFlex body as sized images (views, no copies). */
export function unpackNaFlex(bytes: Uint8Array, dims: readonly number[], grids: readonly PatchGrid[]): SizedImage[] {
  const P = dims[2] as number;
  let at = 0;
  return grids.map(([h, w]) => {
    const n = h * P * w * P * 3;
    const img = { width: w * P, height: h * P, channels: 3, data: bytes.subarray(at, at + n) };
    at += n;
    return img;
  });
}

/** Token id rows as one `[B, T]` int32 body. */
export function packIds(rows: readonly Int32Array[]): { dims: number[]; body: Uint8Array<ArrayBuffer> } {
  const T = rows[0]?.length ?? 0;
  const all = new Int32Array(rows.length * T);
  rows.forEach((r, i) => {
    if (r.length !== T) throw new SiglipError("INTERNAL", "token id rows of one call must share one length");
    all.set(r, i * T);
  });
  return { dims: [rows.length, T], body: bytesOf(all) };
}

/** A `[B, T]` int32 body as B rows (views over its memory, which starts at offset 0). */
export function unpackIds(bytes: Uint8Array<ArrayBuffer>, dims: readonly number[]): Int32Array[] {
  const [B, T] = dims as [number, number];
  const all = new Int32Array(bytes.buffer, bytes.byteOffset, B * T);
  return Array.from({ length: B }, (_, b) => all.subarray(b * T, (b + 1) * T));
}

type TowerError = { error?: { code: string; message: string; siglip_code?: ErrorCode; details?: Record<string, unknown> } };

/** The error envelope a tower answers with. */
export function errorResponse(err: unknown, status: number, headers: Record<string, string> = {}): Response {
  const e = isSiglipError(err) ? { code: err.code, siglip_code: err.code, message: err.message, details: err.details } : { code: "INTERNAL", siglip_code: "INTERNAL", message: "internal error" };
  return Response.json({ error: e }, { status, headers });
}

async function towerError(res: Response): Promise<SiglipError> {
  let json: TowerError = {};
  try {
    json = (await res.json()) as TowerError;
  } catch {
    // not the envelope: reported by status below
  }
  const e = json.error;
  return new SiglipError(e?.siglip_code ?? "BACKEND_BAD_RESPONSE", e?.message ?? `tower answered HTTP ${res.status}`, e?.details ? { details: e.details } : {});
}

// --- client -----------------------------------------------------------------------------------------------------

/** A tower's Workers: stage 0 first (one Worker for an unstaged bundle). */
export interface TowerBindings {
  text: readonly Fetcher[];
  vision: readonly Fetcher[];
}

/** The API Worker's towers, for `openModel({ towers: workerTowers(bindings) })`. */
export function workerTowers(bindings: TowerBindings): TowersFactory<WorkerTowers> {
  return (bundle) => new WorkerTowers(bindings, bundle.id, bundle.manifest.sizes.vision.patchSize);
}

/** Towers in other Workers: each call goes to stage 0 and on along the stage chain. */
export class WorkerTowers implements Towers {
  readonly runsOn = "tower Workers";
  readonly batch = EDGE_BATCH;
  readonly #bindings: TowerBindings;
  readonly #model: string;
  readonly #patchSize: number;

  /**
   * @param model the served id the towers know the model by
   * @param patchSize the vision tower's patch size (NaFlex images are cut into patches of it)
   */
  constructor(bindings: TowerBindings, model: string, patchSize = 16) {
    this.#bindings = bindings;
    this.#model = model;
    this.#patchSize = patchSize;
  }

  text(ids: readonly Int32Array[]): Promise<Tensor<"float32">> {
    const { dims, body } = packIds(ids);
    return this.#chain("textSplit", TEXT_PATH, IDS_TYPE, dims, body);
  }

  fixres(images: readonly SizedImage[]): Promise<Tensor<"float32">> {
    const { dims, body } = packPixels(images);
    return this.#chain("vision", PIXELS_PATH, PIXELS_TYPE, dims, body);
  }

  /** NaFlex images resized to their grids: the vision Worker patches them and resizes the position embeddings. */
  naflex(images: readonly SizedImage[], maxNumPatches: number): Promise<Tensor<"float32">> {
    const { dims, grids, body } = packNaFlex(images, maxNumPatches, this.#patchSize);
    return this.#chain("vision", NAFLEX_PATH, NAFLEX_TYPE, dims, body, { [GRID_HEADER]: gridHeader(grids) });
  }

  /**
   * Sends the first request to stage 0, then each stage's hidden states (binary, forwarded as received) to the next
   * stage until one answers with embeddings; `extra` headers (the NaFlex grid) go to every stage.
   */
  async #chain(tower: StagedTower, path: string, type: string, dims: readonly number[], body: Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}): Promise<Tensor<"float32">> {
    const stages = tower === "vision" ? this.#bindings.vision : this.#bindings.text;
    if (stages.length === 0) throw new SiglipError("INTERNAL", `no Worker bound for the ${tower} tower`);
    let res: Response | undefined;
    for (let k = 0; k < stages.length; k++) {
      const headers: Record<string, string> = { [MODEL_HEADER]: this.#model, ...extra };
      let init: RequestInit & { duplex?: "half" };
      if (k === 0) init = { method: "POST", headers: { ...headers, "content-type": type, [DIMS_HEADER]: dims.join(",") }, body };
      else {
        const prev = res as Response;
        init = { method: "POST", headers: { ...headers, "content-type": HIDDEN_TYPE, [DIMS_HEADER]: prev.headers.get(DIMS_HEADER) ?? "", [TOWER_HEADER]: tower }, body: prev.body, duplex: "half" };
      }
      res = await (stages[k] as Fetcher).fetch(new Request(`https://tower.internal${k === 0 ? path : STAGE_PATH}`, init));
      const got = res.headers.get("content-type");
      if (res.ok && got === HIDDEN_TYPE) continue; // forwarded to the next stage
      if (!res.ok || got !== EMBEDDINGS_TYPE) throw await towerError(res);
      const out = parseDims(res.headers.get(DIMS_HEADER), "embeddings");
      const data = new Float32Array(await res.arrayBuffer());
      if (data.byteLength !== out.bytes || out.dims[0] !== dims[0]) throw new SiglipError("BACKEND_BAD_RESPONSE", `${tower} tower answered ${data.byteLength} bytes as [${out.dims.join(", ")}] for ${dims[0]} inputs`);
      return tensor("float32", out.dims, data);
    }
    await res?.body?.cancel();
    throw new SiglipError("BACKEND_BAD_RESPONSE", `${tower} stage ${stages.length - 1} returned hidden states but no Worker is bound for stage ${stages.length}`);
  }
}

// --- server -----------------------------------------------------------------------------------------------------

export interface TowerRequestContext {
  /** The served model by id (the isolate's provider). */
  model: (id: string) => Promise<SiglipPipeline>;
  /** The stage this Worker runs (`STAGE`); undefined: whole towers. */
  stage: number | undefined;
}

/** A model this isolate runs itself (a `ModelPipeline` over local towers). */
function local(model: SiglipPipeline): ModelPipeline {
  if (!(model instanceof ModelPipeline)) throw new SiglipError("INVALID_ARGUMENT", "this model does not run in this Worker");
  return model;
}

/**
 * The tower endpoints of a Worker (ROLE=text|vision). Request bodies are read straight into reused buffers (hidden
 * states: 600 KiB per image at B/16), held for the request, then given back.
 */
export class TowerServer {
  readonly #bodies = new BufferPool<Uint8Array<ArrayBuffer>>(16 * 2 ** 20, 2, (n) => new Uint8Array(n));

  async #withBody<T>(request: Request, bytes: number, use: (body: Uint8Array<ArrayBuffer>) => Promise<T>): Promise<T> {
    const body = await readBodyInto(request.body, this.#bodies.take(bytes));
    try {
      return await use(body);
    } finally {
      this.#bodies.give(body);
    }
  }

  /** Answers one tower request; errors become the envelope with status 500. */
  async handle(request: Request, ctx: TowerRequestContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      const route = ROUTES[path];
      if (route === undefined) throw new SiglipError("NOT_FOUND", `no tower route ${path}`);
      if (request.headers.get("content-type") !== route.type) throw new SiglipError("INVALID_ARGUMENT", `${path} takes ${route.type}`);
      const tower = request.headers.get(TOWER_HEADER);
      if (path === STAGE_PATH && tower !== "vision" && tower !== "textSplit") throw new SiglipError("INVALID_ARGUMENT", `${TOWER_HEADER} must be vision or textSplit`);
      const model = local(await ctx.model(request.headers.get(MODEL_HEADER) ?? ""));
      const { dims, bytes, grids } = parseDims(request.headers.get(DIMS_HEADER), route.layout, request.headers.get(GRID_HEADER));
      return await this.#withBody(request, bytes, async (body) => {
        const r = await route.run(model, body, dims, { stage: ctx.stage, tower: tower as StagedTower, grid: request.headers.get(GRID_HEADER), ...(grids ? { grids } : {}) });
        return "kind" in r ? stageAnswer(r) : tensorResponse(EMBEDDINGS_TYPE, r.data, r.dims);
      });
    } catch (err) {
      return errorResponse(err, 500);
    }
  }
}

/** What a route needs besides its body: the Worker's stage, the stage request's tower, the NaFlex patch grids. */
interface RouteContext {
  stage: number | undefined;
  tower: StagedTower;
  grid: string | null;
  grids?: PatchGrid[];
}

/** What each endpoint takes and runs: stage 0 of a staged tower, the whole tower, or a later stage. */
const ROUTES: Record<string, { type: string; layout: BodyLayout; run: (model: ModelPipeline, body: Uint8Array<ArrayBuffer>, dims: number[], c: RouteContext) => Promise<StageOutput | Tensor<"float32">> }> = {
  [TEXT_PATH]: {
    type: IDS_TYPE,
    layout: "ids",
    run: async (model, body, dims, c) => (c.stage !== undefined ? model.tokenIdsToStage(unpackIds(body, dims)) : (await model.runTokenIds(unpackIds(body, dims))).embeddings),
  },
  [PIXELS_PATH]: {
    type: PIXELS_TYPE,
    layout: "pixels",
    run: (model, body, dims, c) => (c.stage !== undefined ? model.imagesToStage(unpackPixels(body, dims)) : model.runImages(unpackPixels(body, dims))),
  },
  [NAFLEX_PATH]: {
    type: NAFLEX_TYPE,
    layout: "naflex",
    run: (model, body, dims, c) => {
      const P = model.card.naflex?.patchSize;
      if (P === undefined) throw new SiglipError("INVALID_ARGUMENT", `${NAFLEX_PATH}: ${model.card.id} is a FixRes model`);
      if (dims[2] !== P) throw new SiglipError("INVALID_ARGUMENT", `${NAFLEX_PATH}: patch size ${dims[2]}, ${model.card.id} has ${P}`);
      const images = unpackNaFlex(body, dims, c.grids ?? []);
      const opts = { maxNumPatches: dims[1] as number }; // checked against the model's allowed budgets by the pipeline
      return c.stage !== undefined ? model.imagesToStage(images, opts) : model.runImages(images, opts);
    },
  },
  [STAGE_PATH]: {
    type: HIDDEN_TYPE,
    layout: "hidden",
    run: (model, body, dims, c) => {
      const grids = c.grid === null ? undefined : parseGrid(c.grid, dims[1] as number);
      if (c.grid !== null && grids === undefined) throw new SiglipError("INVALID_ARGUMENT", `${GRID_HEADER} "${c.grid}" does not describe patch grids of at most ${dims[1]} patches`);
      return model.continueStage(c.tower, tensor("float32", dims, new Float32Array(body.buffer, 0, body.byteLength / 4)), grids);
    },
  },
};
/**
 * A stage's answer: hidden states for the next stage, or the embeddings from the last one. Hidden states are sent
 * from the towers' buffer, which goes back to its pool once the next hop has taken them.
 */
function stageAnswer(r: StageOutput): Response {
  if (r.kind === "hidden") return tensorResponse(HIDDEN_TYPE, r.hidden.data, r.hidden.dims, r.release);
  return tensorResponse(EMBEDDINGS_TYPE, r.embeddings.data, r.embeddings.dims);
}
