/**
 * The Cloudflare Worker: the Hono app on onnxruntime-web (WASM, one thread) with bundles in R2. Roles (`ROLE`):
 * `all` runs both towers in this isolate (tiny and small models); `api` serves HTTP and calls `text` / `vision`
 * tower Workers through service bindings, so each isolate holds one tower within 128 MB (SigLIP 2 B/16).
 * Everything heavy is created lazily on the first request (the global scope may not do I/O) and kept per isolate.
 * @module
 */
import { isSiglipError, SiglipError, tensor } from "@siglip-edge/core";
import {
  BufferPool,
  BundlePipeline,
  httpBundleSource,
  lazyProvider,
  loadBundleTokenizer,
  modelCard,
  openBundleModel,
  r2BundleSource,
  readManifest,
  type BundleSource,
  type ModelProvider,
  type SiglipPipeline,
  type StageOutput,
} from "@siglip-edge/runtime";
import { initWorkerdDecoders, workerdEngine } from "@siglip-edge/runtime/workerd";
import { decoderMemoryBytes, preprocessFixResRgb, WORKER_LIMITS } from "@siglip-edge/preprocess";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import { createApp } from "./app.ts";
import { parseBackendRoutes, routedProvider, withBackendRouting } from "./backend-routing.ts";
import { configFromVars } from "./config.ts";
import { layeredEmbeddingCache, type CacheLike } from "./edge-cache.ts";
import { base64ToBytes, DIMS_HEADER, hiddenResponse, MODEL_HEADER, packVectors, parseDims, PIXELS_TYPE, readBodyInto, remotePipeline, unpackIds, unpackPixels } from "./remote-tower.ts";
import { FifoGate } from "./gate.ts";
import { lingeringBody } from "./limits.ts";
import type { WorkerEnv } from "./worker-env.ts";

interface BundleEntry {
  id: string;
  /** Folder of the bundle in the MODELS bucket. */
  prefix?: string;
  /** Or a base URL to read the bundle from over HTTP(S) (ranged GETs for token rows). */
  url?: string;
  foldTokenIds?: boolean;
  /** false: ORT's CPU memory arena off (less WASM memory held after peaks; see BENCHMARKS.md). */
  memArena?: boolean;
  /**
   * false: skip the SHA-256 check of graphs and weights at cold start (default on: the weight file is streamed once
   * through a digest before ORT reads it, which doubles the bytes read at cold start but never holds them).
   */
  verify?: boolean;
}

const RUNS_ON = "workerd: onnxruntime-web (wasm, 1 thread)";

function bundles(env: WorkerEnv): BundleEntry[] {
  try {
    const list = JSON.parse(env.MODEL_BUNDLES ?? "[]") as BundleEntry[];
    return Array.isArray(list) ? list.filter((b) => typeof b.id === "string" && (typeof b.prefix === "string" || typeof b.url === "string")) : [];
  } catch {
    return [];
  }
}

function sourceOf(env: WorkerEnv, b: BundleEntry): BundleSource {
  return b.url !== undefined ? httpBundleSource(b.url) : r2BundleSource(env.MODELS, b.prefix ?? "");
}

function localProvider(env: WorkerEnv): ModelProvider {
  return lazyProvider(
    bundles(env).map((b) => ({
      id: b.id,
      open: () => {
        const stage = stageOf(env);
        return openBundleModel({ engine: workerdEngine(), source: sourceOf(env, b), runsOn: RUNS_ON, id: b.id, initDecoders: initWorkerdDecoders, decodeLimits: WORKER_LIMITS, ...(b.foldTokenIds ? { foldTokenIds: true } : {}), ...(b.memArena === false ? { memArena: false } : {}), ...(b.verify === false ? { verify: false } : {}), ...(stage === undefined ? {} : { stage }) });
      },
    })),
  );
}

type Binding = { fetch(request: Request): Promise<Response> };

/** `NAME` (stage 0), then `NAME_1`, `NAME_2`, ... while bound. */
function stageBindings(env: WorkerEnv, name: "TEXT_TOWER" | "VISION_TOWER"): Binding[] {
  const out: Binding[] = [];
  for (let k = 0; ; k++) {
    const b = env[k === 0 ? name : `${name}_${k}`] as Binding | undefined;
    if (b === undefined || typeof b.fetch !== "function") return out;
    out.push(b);
  }
}

/** How many stage Workers are bound per tower: part of a configuration's cache key (staged and unstaged APIs differ). */
function towerShape(env: WorkerEnv): string {
  return `${stageBindings(env, "TEXT_TOWER").length}|${stageBindings(env, "VISION_TOWER").length}`;
}

/** `STAGE` of a tower role, validated (a misconfigured Worker must fail loudly, not serve whole towers). */
function stageOf(env: WorkerEnv): number | undefined {
  if (env.STAGE === undefined || env.STAGE === "") return undefined;
  const k = Number(env.STAGE);
  if (!Number.isInteger(k) || k < 0) throw new SiglipError("INVALID_ARGUMENT", `STAGE must be a stage index (0, 1, ...), got ${env.STAGE}`);
  return k;
}

function splitProvider(env: WorkerEnv): ModelProvider {
  const text = stageBindings(env, "TEXT_TOWER");
  const vision = stageBindings(env, "VISION_TOWER");
  if (text.length === 0 || vision.length === 0) throw new Error("ROLE=api needs TEXT_TOWER and VISION_TOWER service bindings");
  return lazyProvider(
    bundles(env).map((b) => ({
      id: b.id,
      open: async (): Promise<SiglipPipeline> => {
        const source = sourceOf(env, b);
        const m = await readManifest(source);
        const card = { ...modelCard(m, "workerd: onnxruntime-web (wasm, 1 thread); towers in separate Workers", b.id) };
        // Tokenize here: the text role then holds no tokenizer (14 MB for Gemma), only its graph.
        let tok: Promise<Tokenizer> | undefined;
        const tokenize = async (texts: readonly string[], lowercase: "none" | "ascii" | "unicode" | undefined) => {
          tok ??= loadBundleTokenizer(source, m);
          const t = await tok;
          return texts.map((x) => t.encode(x, lowercase === undefined ? { maxLength: m.text.maxLength } : { maxLength: m.text.maxLength, lowercase }));
        };
        // Decode and resize here too: the vision role then receives S x S uint8 pixels and holds no image buffers
        // next to its weights (the API isolate holds no model).
        const pp = m.preprocessing;
        const prepare =
          pp.kind === "fixres"
            ? async (bytes: Uint8Array) => {
                await initWorkerdDecoders();
                return preprocessFixResRgb(bytes, { size: pp.imageSize, resample: pp.resample, limits: WORKER_LIMITS });
              }
            : undefined; // NaFlex: the vision role answers that it is not served
        return remotePipeline({ card, logit: { logitScale: m.logitScale, logitBias: m.logitBias } }, { text, vision }, tokenize, prepare);
      },
    })),
  );
}

// Per isolate: providers keyed by their configuration, apps keyed by all variables (tests vary them per call).
const providers = new Map<string, ModelProvider>();
const apps = new Map<string, { fetch: (request: Request, env: WorkerEnv) => Response | Promise<Response> }>();

function provider(env: WorkerEnv): ModelProvider {
  const role = env.ROLE ?? "all";
  const key = `${role}|${env.STAGE ?? ""}|${towerShape(env)}|${env.MODEL_BUNDLES ?? ""}|${env.MODEL_BACKENDS ?? ""}`;
  let p = providers.get(key);
  if (p === undefined) {
    const edge = role === "api" ? splitProvider(env) : localProvider(env);
    // Models in MODEL_BACKENDS go to their KServe v2 backend; the bundle (manifest + tokenizer) comes from R2.
    p = routedProvider(edge, parseBackendRoutes(env), env, { source: (prefix) => r2BundleSource(env.MODELS, prefix) });
    providers.set(key, p);
  }
  return p;
}

function defaultCache(): CacheLike | undefined {
  const c = (globalThis as { caches?: { default?: CacheLike } }).caches;
  return c?.default;
}

function app(env: WorkerEnv): { fetch: (request: Request, env: WorkerEnv) => Response | Promise<Response> } {
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === "string"));
  const key = `${JSON.stringify(vars)}|${towerShape(env)}`;
  let a = apps.get(key);
  if (a === undefined) {
    const cache = defaultCache();
    a = withBackendRouting(
      createApp({
        config: configFromVars(vars),
        models: provider(env),
        labelCache: layeredEmbeddingCache({ ...(cache ? { cache } : {}), ...(env.LABELS ? { kv: env.LABELS } : {}) }),
        logError: (id, err) => console.error(`[${id}]`, err),
      }),
      parseBackendRoutes(env),
    );
    apps.set(key, a);
  }
  return a;
}

/**
 * One tower request at a time per isolate (edge-runtime §10.2 #6): requests share the isolate's 128 MB, and a waiting
 * request's body is not read until its turn, so 20 concurrent image requests hold one decoded image at a time rather
 * than 20 (the buffers of finished requests stay as garbage until V8 collects them; BENCHMARKS.md). Up to 64 wait;
 * beyond that the tower answers 503 at once, which the API reports as 429 `overloaded` with Retry-After.
 */
const towerGate = new FifoGate(64);
/** Stage inputs read straight into reused buffers (hidden states: 600 KiB per image at B/16). */
const bodyBuffers = new BufferPool<Uint8Array<ArrayBuffer>>(16 * 2 ** 20, 2, (n) => new Uint8Array(n));

/** Reads a tower request's binary body of `bytes` bytes into a pooled buffer, for the duration of `use`. */
async function withBody<T>(request: Request, bytes: number, use: (body: Uint8Array<ArrayBuffer>) => Promise<T>): Promise<T> {
  const body = await readBodyInto(request.body, bodyBuffers.take(bytes));
  try {
    return await use(body);
  } finally {
    bodyBuffers.give(body);
  }
}

const TOWER_PATHS = new Set(["/internal/embed-text", "/internal/embed-images", "/internal/embed-pixels", "/internal/stage"]);

/** A model this isolate runs itself (a `BundlePipeline`: sized images, stages), not one routed to a backend. */
function local(model: SiglipPipeline): BundlePipeline {
  if (!(model instanceof BundlePipeline)) throw new SiglipError("INVALID_ARGUMENT", "this model does not run in this Worker");
  return model;
}

/**
 * A stage's answer: hidden states (binary) for the next stage, or the embeddings from the last one. Hidden states
 * are sent from the pipeline's buffer, which goes back to its pool once the next hop has taken them.
 */
function stageAnswer(r: StageOutput): Response {
  if (r.kind === "hidden") return hiddenResponse(r.hidden.data as Float32Array, r.hidden.dims, r.tokens, r.release);
  return Response.json({ ...(r.tokens === undefined ? {} : { tokens: r.tokens }), dim: r.embeddings[0]?.length ?? 0, embeddings: packVectors(r.embeddings) });
}

/**
 * The tower-role endpoints (ROLE=text|vision|all): internal, reached only through service bindings. With `STAGE`,
 * `/internal/embed-*` runs stage 0 and `/internal/stage` a later stage (body: raw float32 hidden states); either
 * answers hidden states unless it is the last stage.
 */
async function towerRequest(request: Request, env: WorkerEnv): Promise<Response> {
  const path = new URL(request.url).pathname;
  try {
    const stage = stageOf(env);
    if (path === "/internal/stage") {
      const tower = request.headers.get("x-siglip-tower");
      if (tower !== "vision" && tower !== "textSplit") throw new SiglipError("INVALID_ARGUMENT", "x-siglip-tower must be vision or textSplit");
      const model = await provider(env).get(request.headers.get(MODEL_HEADER) ?? "");
      const { dims, bytes } = parseDims(request.headers.get(DIMS_HEADER));
      return await withBody(request, bytes, async (body) => stageAnswer(await local(model).continueStage(tower, tensor("float32", dims, new Float32Array(body.buffer, 0, bytes / 4)))));
    }
    if (path === "/internal/embed-pixels") {
      if (request.headers.get("content-type") !== PIXELS_TYPE) throw new SiglipError("INVALID_ARGUMENT", `embed-pixels takes ${PIXELS_TYPE}`);
      const model = await provider(env).get(request.headers.get(MODEL_HEADER) ?? "");
      const { dims, bytes } = parseDims(request.headers.get(DIMS_HEADER), "pixels");
      return await withBody(request, bytes, async (body) => {
        const images = unpackPixels(body, dims);
        if (stage !== undefined) return stageAnswer(await local(model).imagesToStage(images));
        const v = await local(model).embedImages(images);
        return Response.json({ dim: v[0]?.length ?? 0, embeddings: packVectors(v) });
      });
    }
    const body = (await request.json()) as { model: string; texts?: string[]; ids?: string; length?: number; lowercase?: "none" | "ascii" | "unicode"; images?: string[] };
    const model = await provider(env).get(body.model);
    if (path === "/internal/embed-text") {
      if (stage !== undefined) return stageAnswer(await local(model).tokenIdsToStage(unpackIds(body.ids ?? "", body.length ?? 0)));
      const r =
        body.ids !== undefined && model.embedTokenIds !== undefined
          ? await model.embedTokenIds(unpackIds(body.ids, body.length ?? 0))
          : await model.embedTexts(body.texts ?? [], body.lowercase ? { lowercase: body.lowercase } : {});
      return Response.json({ tokens: r.tokens, dim: r.embeddings[0]?.length ?? 0, embeddings: packVectors(r.embeddings) });
    }
    const images = (body.images ?? []).map(base64ToBytes);
    if (stage !== undefined) return stageAnswer(await local(model).imagesToStage(images));
    const v = await model.embedImages(images);
    return Response.json({ dim: v[0]?.length ?? 0, embeddings: packVectors(v) });
  } catch (err) {
    const e = isSiglipError(err) ? { code: err.code, siglip_code: err.code, message: err.message, details: err.details } : { code: "INTERNAL", siglip_code: "INTERNAL", message: "internal error" };
    return Response.json({ error: e }, { status: 500 });
  }
}

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const role = env.ROLE ?? "all";
    if (role === "text" || role === "vision") {
      // Tower Workers have no public route (workers_dev = false); they answer service-binding calls only.
      const path = new URL(request.url).pathname;
      // Memory figures for the benchmark (numbers only, no data): the WASM linear memory of this isolate.
      if (request.method === "GET" && path === "/internal/stats") return stats(role);
      if (request.method !== "POST" || !TOWER_PATHS.has(path)) return new Response(null, { status: 404 });
      try {
        return await towerGate.run(() => towerRequest(request, env), `${role} tower`, request.signal);
      } catch (err) {
        // Only the gate throws here (towerRequest answers its own errors): the queue is full.
        const e = isSiglipError(err) ? { code: err.code, siglip_code: err.code, message: err.message, details: err.details } : { code: "INTERNAL", siglip_code: "INTERNAL", message: "request cancelled" };
        return Response.json({ error: e }, { status: 503, headers: { "retry-after": "1" } });
      }
    }
    if (env.INTERNAL_STATS === "1" && request.method === "GET" && new URL(request.url).pathname === "/internal/stats") return stats(role);
    if (request.body === null) return app(env).fetch(request, env);
    // What the app leaves unread (413 at the cap, 415, 401) is read and discarded before answering, within LINGER:
    // workerd resets a connection whose request body was cancelled, and a client still writing loses the answer.
    const body = lingeringBody(request.body);
    const response = await app(env).fetch(new Request(request, { body: body.body }), env);
    await body.finish();
    return response;
  },
};

/** Memory figures for the benchmark (numbers only, no data): the WASM linear memory of this isolate. */
function stats(role: string): Response {
  const engine = role === "api" ? 0 : (workerdEngine().nativeMemoryBytes() ?? 0);
  return Response.json({ role, wasmBytes: engine + decoderMemoryBytes() });
}
