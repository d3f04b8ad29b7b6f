/**
 * The Cloudflare Worker: the Hono app on onnxruntime-web (WASM, one thread) with bundles in R2. Roles (`ROLE`):
 * `all` runs both towers in this isolate (tiny and small models); `api` serves HTTP and calls `text` / `vision`
 * tower Workers through service bindings, so each isolate holds one tower within 128 MB (SigLIP 2 B/16).
 * Everything heavy is created lazily on the first request (the global scope may not do I/O) and kept per isolate.
 * @module
 */
import { isSiglipError } from "@siglip-edge/core";
import {
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
} from "@siglip-edge/runtime";
import { initWorkerdDecoders, workerdEngine } from "@siglip-edge/runtime/workerd";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import { createApp } from "./app.ts";
import { parseBackendRoutes, routedProvider, withBackendRouting } from "./backend-routing.ts";
import { configFromVars } from "./config.ts";
import { layeredEmbeddingCache, type CacheLike } from "./edge-cache.ts";
import { base64ToBytes, packVectors, remotePipeline, unpackIds } from "./remote-tower.ts";
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
      open: () => openBundleModel({ engine: workerdEngine(), source: sourceOf(env, b), runsOn: RUNS_ON, id: b.id, initDecoders: initWorkerdDecoders, ...(b.foldTokenIds ? { foldTokenIds: true } : {}), ...(b.memArena === false ? { memArena: false } : {}), ...(b.verify === false ? { verify: false } : {}) }),
    })),
  );
}

function splitProvider(env: WorkerEnv): ModelProvider {
  const text = env.TEXT_TOWER;
  const vision = env.VISION_TOWER;
  if (text === undefined || vision === undefined) throw new Error("ROLE=api needs TEXT_TOWER and VISION_TOWER service bindings");
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
        return remotePipeline({ card, logit: { logitScale: m.logitScale, logitBias: m.logitBias } }, { text, vision }, tokenize);
      },
    })),
  );
}

// Per isolate: providers keyed by their configuration, apps keyed by all variables (tests vary them per call).
const providers = new Map<string, ModelProvider>();
const apps = new Map<string, { fetch: (request: Request, env: WorkerEnv) => Response | Promise<Response> }>();

function provider(env: WorkerEnv): ModelProvider {
  const role = env.ROLE ?? "all";
  const key = `${role}|${env.MODEL_BUNDLES ?? ""}|${env.MODEL_BACKENDS ?? ""}`;
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
  const key = JSON.stringify(vars);
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

/** The tower-role endpoints (ROLE=text|vision|all): internal, reached only through service bindings. */
async function towerRequest(request: Request, env: WorkerEnv): Promise<Response> {
  const path = new URL(request.url).pathname;
  try {
    const body = (await request.json()) as { model: string; texts?: string[]; ids?: string; length?: number; lowercase?: "none" | "ascii" | "unicode"; images?: string[] };
    const model = await provider(env).get(body.model);
    if (path === "/internal/embed-text") {
      const r =
        body.ids !== undefined && model.embedTokenIds !== undefined
          ? await model.embedTokenIds(unpackIds(body.ids, body.length ?? 0))
          : await model.embedTexts(body.texts ?? [], body.lowercase ? { lowercase: body.lowercase } : {});
      return Response.json({ tokens: r.tokens, dim: r.embeddings[0]?.length ?? 0, embeddings: packVectors(r.embeddings) });
    }
    const v = await model.embedImages((body.images ?? []).map(base64ToBytes));
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
      if (request.method === "GET" && path === "/internal/stats") return Response.json({ role, wasmBytes: workerdEngine().nativeMemoryBytes() ?? 0 });
      if (request.method !== "POST" || (path !== "/internal/embed-text" && path !== "/internal/embed-images")) return new Response(null, { status: 404 });
      return towerRequest(request, env);
    }
    return app(env).fetch(request, env);
  },
};
