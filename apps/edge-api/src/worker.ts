/**
 * The Cloudflare Worker: the Hono app on onnxruntime-web (WASM, one thread) with bundles in R2. Roles (`ROLE`):
 * `all` runs both towers in this isolate (tiny and small models); `api` serves HTTP and calls `text` / `vision`
 * tower Workers through service bindings, so each isolate holds one tower within 128 MB (SigLIP 2 B/16).
 * Everything heavy is created lazily on the first request (the global scope may not do I/O) and kept per isolate.
 * @module
 */
import { isSiglipError, SiglipError } from "@siglip-edge/core";
import { engineTowers, httpBundleSource, lazyProvider, openModel, r2BundleSource, type BundleSource, type ModelProvider } from "@siglip-edge/runtime";
import { initWorkerdDecoders, workerdEngine } from "@siglip-edge/runtime/workerd";
import { decoderMemoryBytes, WORKER_LIMITS } from "@siglip-edge/preprocess";
import { createApp } from "./app.ts";
import { parseBackendRoutes, routedProvider, withBackendRouting } from "./backend-routing.ts";
import { configFromVars } from "./config.ts";
import { layeredEmbeddingCache, type CacheLike } from "./edge-cache.ts";
import { errorResponse, TOWER_PATHS, TowerServer, workerTowers, type Fetcher } from "./tower-protocol.ts";
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

/** What every model of this Worker shares, wherever its towers run: decoders and decoding caps for a 128 MB isolate. */
const PREPROCESS = { initDecoders: initWorkerdDecoders, decodeLimits: WORKER_LIMITS };

function localProvider(env: WorkerEnv): ModelProvider {
  return lazyProvider(
    bundles(env).map((b) => ({
      id: b.id,
      open: () => {
        const stage = stageOf(env);
        const towers = engineTowers(workerdEngine(), { ...(b.memArena === false ? { memArena: false } : {}), ...(b.verify === false ? { verify: false } : {}), ...(stage === undefined ? {} : { stage }) });
        return openModel({ source: sourceOf(env, b), towers, runsOn: RUNS_ON, id: b.id, ...PREPROCESS, ...(b.foldTokenIds ? { foldTokenIds: true } : {}) });
      },
    })),
  );
}

/** `NAME` (stage 0), then `NAME_1`, `NAME_2`, ... while bound. */
function stageBindings(env: WorkerEnv, name: "TEXT_TOWER" | "VISION_TOWER"): Fetcher[] {
  const out: Fetcher[] = [];
  for (let k = 0; ; k++) {
    const b = env[k === 0 ? name : `${name}_${k}`] as Fetcher | undefined;
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
  // The API tokenizes and decodes: the text role then holds no tokenizer (14 MB for Gemma), only its graph, and the
  // vision role receives S x S uint8 pixels and holds no image buffers next to its weights (this isolate holds no model).
  return lazyProvider(
    bundles(env).map((b) => ({
      id: b.id,
      open: () => openModel({ source: sourceOf(env, b), towers: workerTowers({ text, vision }), runsOn: `${RUNS_ON}; towers in separate Workers`, id: b.id, ...PREPROCESS, ...(b.foldTokenIds ? { foldTokenIds: true } : {}) }),
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
    p = routedProvider(edge, parseBackendRoutes(env), env, { source: (prefix) => r2BundleSource(env.MODELS, prefix), ...PREPROCESS });
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
const towerServer = new TowerServer();

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
        let stage: number | undefined;
        try {
          stage = stageOf(env);
        } catch (err) {
          return errorResponse(err, 500);
        }
        return await towerGate.run(() => towerServer.handle(request, { model: (id) => provider(env).get(id), stage }), `${role} tower`, request.signal);
      } catch (err) {
        // Only the gate throws here (the server answers its own errors): the queue is full.
        return errorResponse(isSiglipError(err) ? err : new SiglipError("INTERNAL", "request cancelled"), 503, { "retry-after": "1" });
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
