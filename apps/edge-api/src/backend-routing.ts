/**
 * Routing models to a GPU backend (KServe v2 / Open Inference Protocol: Triton, KServe, MLServer, or the dev
 * backend `siglip backend`). A model table in configuration, not code, says which ids a backend serves; all other ids
 * stay at the edge. The public API and response shape do not change; `/v1/models` shows `runs_on: "backend: ..."`.
 *
 * Configuration (Worker vars/secrets, or the environment on Node):
 * - `MODEL_BACKENDS` (JSON): `{"backends": {"gpu": {"url": "https://triton.internal:8000", "deadlineMs": 10000}},
 *   "models": [{"id": "google/siglip2-large-patch16-256", "backend": "gpu", "name": "siglip2-large",
 *   "bundle": "siglip2-large/"}]}`. `name` prefixes the backend's models (`<name>-text`, `<name>-vision`); `bundle`
 *   is where the bundle's manifest and tokenizer live (an R2 prefix in Workers, a directory on Node; no weights).
 * - `BACKEND_<NAME>_TOKEN` (secret, NAME upper-cased, other characters `_`): sent as `Authorization: Bearer ...`.
 *
 * Errors from a backend become 502 (bad response), 503 (unavailable, breaker open, overloaded) or 504 (timeout)
 * with `Retry-After`, through `withBackendRouting` (errors.ts alone maps these codes to a generic 503). Answers say
 * which path served them (`x-siglip-backend: servedBy(card)`), set by app.ts where the response is made.
 * @module
 */
import { isSiglipError, SiglipError } from "@siglip-edge/core";
import {
  backendErrorStatus,
  KServeClient,
  kserveTowers,
  lazyProvider,
  openModel,
  type BundleSource,
  type KServeClientOptions,
  type ModelCard,
  type ModelPipelineOptions,
  type ModelProvider,
} from "@siglip-edge/runtime";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import { Hono } from "hono";

export interface BackendSettings extends Pick<KServeClientOptions, "deadlineMs" | "connectTimeoutMs" | "readTimeoutMs" | "maxConcurrent" | "maxQueued" | "retries"> {
  url: string;
  /** Binary tensor extension (default true); false for a backend that only speaks JSON. */
  binary?: boolean;
  /** `uint8` sends pixels to `<name>-vision-u8` (in-graph pixel table, bit-identical, 4x fewer bytes); default `float32`. */
  pixels?: "float32" | "uint8";
}

export interface BackendModelRoute {
  /** The public model id (`model` in requests). */
  id: string;
  /** Key into `backends`. */
  backend: string;
  /** Backend model-name prefix: `<name>-text`, `<name>-vision`. */
  name: string;
  /** Where the manifest and tokenizer are (R2 prefix or directory). */
  bundle: string;
  /** Tiny random-weight fixtures only. */
  foldTokenIds?: boolean;
}

export interface BackendRoutes {
  backends: Record<string, BackendSettings>;
  models: BackendModelRoute[];
}

const NUM_KEYS = ["deadlineMs", "connectTimeoutMs", "readTimeoutMs", "maxConcurrent", "maxQueued", "retries"] as const;

/** The secret holding a backend's bearer token: `BACKEND_<NAME>_TOKEN`. */
export function backendTokenVar(name: string): string {
  return `BACKEND_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_TOKEN`;
}

/** Reads and checks `MODEL_BACKENDS`; absent means no backend. A malformed table is an error at startup, not later. */
export function parseBackendRoutes(vars: Record<string, unknown>): BackendRoutes {
  const raw = vars["MODEL_BACKENDS"];
  if (raw === undefined || raw === "") return { backends: {}, models: [] };
  const fail = (msg: string): never => {
    throw new SiglipError("INVALID_ARGUMENT", `MODEL_BACKENDS: ${msg}`);
  };
  let j: unknown;
  try {
    j = typeof raw === "string" ? JSON.parse(raw) : raw;
  } catch {
    return fail("not valid JSON");
  }
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!obj(j) || !obj(j["backends"]) || !Array.isArray(j["models"])) return fail('needs {"backends": {...}, "models": [...]}');
  const backends: Record<string, BackendSettings> = {};
  for (const [name, b] of Object.entries(j["backends"])) {
    if (!obj(b) || typeof b["url"] !== "string" || !/^https?:\/\//.test(b["url"])) return fail(`backend "${name}" needs an http(s) url`);
    const s: BackendSettings = { url: b["url"] };
    for (const k of NUM_KEYS) {
      const v = b[k];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) return fail(`backend "${name}": ${k} must be a non-negative integer`);
      s[k] = v;
    }
    if (b["binary"] !== undefined) s.binary = b["binary"] === true;
    if (b["pixels"] !== undefined) {
      if (b["pixels"] !== "float32" && b["pixels"] !== "uint8") return fail(`backend "${name}": pixels must be "float32" or "uint8"`);
      s.pixels = b["pixels"];
    }
    backends[name] = s;
  }
  const models = j["models"].map((m: unknown, i: number): BackendModelRoute => {
    if (!obj(m)) return fail(`models[${i}] is not an object`);
    for (const k of ["id", "backend", "name", "bundle"] as const) if (typeof m[k] !== "string" || m[k] === "") fail(`models[${i}].${k} must be a string`);
    if (!((m["backend"] as string) in backends)) fail(`models[${i}].backend "${String(m["backend"])}" is not in backends`);
    return { id: m["id"] as string, backend: m["backend"] as string, name: m["name"] as string, bundle: m["bundle"] as string, ...(m["foldTokenIds"] === true ? { foldTokenIds: true } : {}) };
  });
  return { backends, models };
}

export interface BackendProviderOptions extends Pick<ModelPipelineOptions<never>, "initDecoders" | "decodeLimits"> {
  /** Opens the manifest-and-tokenizer source of a route's `bundle`. */
  source: (bundle: string) => BundleSource;
  /** Tests: a fixed tokenizer instead of the bundle's. */
  tokenizer?: Tokenizer;
  /** Tests: a fetch other than the global one. */
  fetch?: typeof fetch;
}

/** One client per backend (so one breaker and one concurrency limit per backend), from the routes and secrets. */
export function backendClients(routes: BackendRoutes, vars: Record<string, unknown>, fetchImpl?: typeof fetch): Map<string, KServeClient> {
  const clients = new Map<string, KServeClient>();
  for (const [name, s] of Object.entries(routes.backends)) {
    const token = vars[backendTokenVar(name)];
    const { binary: _binary, pixels: _pixels, ...opts } = s;
    clients.set(name, new KServeClient({ ...opts, label: name, ...(typeof token === "string" && token !== "" ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(fetchImpl ? { fetch: fetchImpl } : {}) }));
  }
  return clients;
}

/**
 * Serves the routed ids from their backends and every other id from `local`. `list()` shows both, the backend
 * models with `runs_on: "backend: KServe v2 at <backend> (<name>)"`.
 */
export function routedProvider(local: ModelProvider, routes: BackendRoutes, vars: Record<string, unknown>, o: BackendProviderOptions): ModelProvider {
  if (routes.models.length === 0) return local;
  const clients = backendClients(routes, vars, o.fetch);
  const remote = lazyProvider(
    routes.models.map((r) => ({
      id: r.id,
      open: () =>
        openModel({
          source: o.source(r.bundle),
          towers: kserveTowers({
            client: clients.get(r.backend) as KServeClient,
            remoteName: r.name,
            binary: routes.backends[r.backend]?.binary ?? true,
            pixelFormat: routes.backends[r.backend]?.pixels ?? "float32",
          }),
          id: r.id,
          ...(r.foldTokenIds ? { foldTokenIds: true } : {}),
          ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}),
          ...(o.initDecoders ? { initDecoders: o.initDecoders } : {}),
          ...(o.decodeLimits ? { decodeLimits: o.decodeLimits } : {}),
        }),
    })),
  );
  const routed = new Set(routes.models.map((r) => r.id));
  return {
    get: (id) => (routed.has(id) ? remote.get(id) : local.get(id)),
    list: async () => [...(await local.list()).filter((c) => !routed.has(c.id)), ...(await remote.list())],
  };
}

/** The `x-siglip-backend` value for a served model: `edge`, or `backend:<name>` for one whose towers run on a backend. */
export function servedBy(card: ModelCard): string {
  return card.backend === undefined ? "edge" : `backend:${card.backend}`;
}

const RETRYABLE_TYPE = { 502: "server_error", 503: "server_error", 504: "server_error" } as const;

/**
 * Wraps the API app for backend routing: backend errors answer 502 / 503 / 504 with `Retry-After`, in the OpenAI
 * envelope (`code`: `backend_bad_response`, `backend_unavailable`, `backend_timeout`, `overloaded`), instead of the
 * generic 503 / 500 of errors.ts. Messages stay generic: backend URLs and bodies go to the logs only.
 */
export function withBackendRouting<A extends { fetch: (req: Request, ...rest: never[]) => Response | Promise<Response> }>(app: A): Hono {
  const outer = new Hono();
  outer.use("*", async (c, next) => {
    await next();
    // Image errors arrive wrapped in an ApiError (app.ts names the failing input); the backend error is its cause.
    const err = isSiglipError(c.error) ? c.error : (c.error as { cause?: unknown } | undefined)?.cause;
    // Only errors raised by a backend client (they name the backend); the edge's own admission keeps its 429.
    if (!isSiglipError(err) || typeof err.details?.["backend"] !== "string") return;
    const status = backendErrorStatus(err.code);
    if (status === undefined) return;
    const code = err.code === "OVERLOADED" ? "overloaded" : err.code.toLowerCase();
    const message =
      status === 502 ? "the model backend sent a bad response" : status === 504 ? "the model backend did not answer in time" : "the model backend is not available right now";
    const ra = err.details?.["retryAfterSeconds"];
    const headers = new Headers(c.res.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    if (typeof ra === "number") headers.set("retry-after", String(ra));
    c.res = new Response(JSON.stringify({ error: { message, type: RETRYABLE_TYPE[status], param: null, code } }), { status, headers });
  });
  outer.route("/", app as unknown as Hono);
  return outer;
}
