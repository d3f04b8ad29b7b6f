/**
 * A KServe v2 / Open Inference Protocol client (Triton, KServe, Seldon MLServer) over `fetch`, so it runs in Workers
 * and on Node alike. Health, metadata and infer (binary extension by default, JSON on request), with:
 * - a per-request deadline covering queueing, every attempt and backoff;
 * - a connect timeout (until the response headers arrive) and a read timeout (longest gap between body chunks);
 * - bounded concurrency with a bounded queue, shedding the rest with `OVERLOADED`;
 * - retries with full-jitter backoff only where no work can have been done or the server refused it: a refused
 *   connection, or a 503 status (a `Retry-After` within the deadline is honoured);
 * - a circuit breaker per client (one client per backend);
 * - strict decoding: a wrong shape, datatype, truncated binary section or bad JSON is `BACKEND_BAD_RESPONSE`.
 * Errors carry `details.retryAfterSeconds` where a retry makes sense; see `backendErrorStatus` for the HTTP status.
 * @module
 */
import { concatBytes, isSiglipError, SiglipError, type ErrorCode, type Tensor } from "@siglip-edge/core";
import { decodeInferResponse, encodeInferRequest, HEADER_LENGTH } from "./codec.ts";
import { backoffMs, CircuitBreaker, ConcurrencyLimiter, sleep, timeoutController, TimeoutReason, type BreakerOptions, type BreakerState } from "./resilience.ts";

export interface KServeClientOptions {
  /** Base URL, e.g. `http://triton:8000` (a path prefix is kept). */
  url: string;
  /** Extra headers on every call, e.g. `{authorization: "Bearer ..."}` from a secret. */
  headers?: Record<string, string>;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Whole-call budget, queueing and retries included (default 10000 ms). */
  deadlineMs?: number;
  /** Until response headers (default 5000 ms; inference time counts here, as Triton answers when done). */
  connectTimeoutMs?: number;
  /** Longest gap between response body chunks (default 5000 ms). */
  readTimeoutMs?: number;
  /** Calls in flight (default 16) and waiting (default 64) before `OVERLOADED`. */
  maxConcurrent?: number;
  maxQueued?: number;
  /** Retries after the first attempt, for safe cases only (default 2). */
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  breaker?: BreakerOptions;
  /** Largest accepted response body (default 64 MiB). */
  maxResponseBytes?: number;
  /** Name used in messages and error details (default the URL's host). */
  label?: string;
  random?: () => number;
}

export interface InferOptions {
  /** Binary extension (default true); false sends and asks for JSON. */
  binary?: boolean;
  outputs?: readonly string[];
  version?: string;
  id?: string;
  signal?: AbortSignal;
  /** Overrides the client's deadline for this call. */
  deadlineMs?: number;
}

export interface InferResult {
  outputs: Record<string, Tensor>;
  modelName: string;
  modelVersion: string | undefined;
  /** Bytes sent and received for this call (last attempt), for the wire-size figures. */
  bytesSent: number;
  bytesReceived: number;
}

export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** HTTP status the API should answer for a backend error code (502 bad gateway, 503 unavailable, 504 timeout). */
export function backendErrorStatus(code: ErrorCode): 502 | 503 | 504 | undefined {
  if (code === "BACKEND_BAD_RESPONSE") return 502;
  if (code === "BACKEND_UNAVAILABLE" || code === "OVERLOADED") return 503;
  if (code === "BACKEND_TIMEOUT") return 504;
  return undefined;
}

interface Attempt {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

const RETRYABLE = Symbol("retryable");

function errorCause(err: unknown): { code?: string; message: string } {
  let e: unknown = err;
  for (let i = 0; i < 4 && typeof e === "object" && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return { code, message: String((e as Error).message) };
    e = (e as { cause?: unknown }).cause;
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

function backendMessage(body: Uint8Array): string {
  try {
    const j = JSON.parse(new TextDecoder().decode(body)) as { error?: unknown };
    if (typeof j.error === "string") return j.error.slice(0, 300);
  } catch {
    // not the documented {"error": ...} body; the status alone is reported
  }
  return "";
}

function parseRetryAfter(v: string | null): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : undefined;
}

export class KServeClient {
  readonly url: string;
  readonly label: string;
  readonly breaker: CircuitBreaker;
  readonly limiter: ConcurrencyLimiter;
  readonly #o: KServeClientOptions;
  readonly #fetch: typeof fetch;

  constructor(o: KServeClientOptions) {
    this.#o = o;
    this.url = o.url.replace(/\/+$/, "");
    this.label = o.label ?? (URL.canParse(this.url) ? new URL(this.url).host : this.url);
    this.#fetch = o.fetch ?? ((input, init) => fetch(input, init));
    this.breaker = new CircuitBreaker(o.breaker);
    this.limiter = new ConcurrencyLimiter(o.maxConcurrent ?? 16, o.maxQueued ?? 64);
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  /** `GET /v2/health/live`: true on 200 (Triton answers with an empty body; only the status is read). */
  async live(signal?: AbortSignal): Promise<boolean> {
    return (await this.#probe("/v2/health/live", signal)) === 200;
  }

  async ready(signal?: AbortSignal): Promise<boolean> {
    return (await this.#probe("/v2/health/ready", signal)) === 200;
  }

  async modelReady(name: string, version?: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.#probe(`${modelPath(name, version)}/ready`, signal)) === 200;
  }

  async serverMetadata(signal?: AbortSignal): Promise<ServerMetadata> {
    const j = await this.#getJson("/v2", signal);
    if (typeof j["name"] !== "string" || typeof j["version"] !== "string" || !Array.isArray(j["extensions"])) throw this.#bad("server metadata lacks name, version or extensions");
    return j as unknown as ServerMetadata;
  }

  async modelMetadata(name: string, version?: string, signal?: AbortSignal): Promise<ModelMetadata> {
    const j = await this.#getJson(modelPath(name, version), signal);
    const ioOk = (l: unknown) => Array.isArray(l) && l.every((t: unknown) => typeof t === "object" && t !== null && typeof (t as { name?: unknown }).name === "string" && typeof (t as { datatype?: unknown }).datatype === "string" && Array.isArray((t as { shape?: unknown }).shape));
    if (typeof j["name"] !== "string" || typeof j["platform"] !== "string" || !ioOk(j["inputs"]) || !ioOk(j["outputs"])) throw this.#bad(`metadata of ${name} lacks name, platform, inputs or outputs`);
    return j as unknown as ModelMetadata;
  }

  /** `POST /v2/models/{name}[/versions/{v}]/infer`. */
  async infer(name: string, inputs: Readonly<Record<string, Tensor>>, o: InferOptions = {}): Promise<InferResult> {
    const encoded = encodeInferRequest(inputs, { binary: o.binary ?? true, ...(o.outputs ? { outputs: o.outputs } : {}), ...(o.id !== undefined ? { id: o.id } : {}) });
    const res = await this.#call("POST", `${modelPath(name, o.version)}/infer`, { body: encoded.body, headers: encoded.headers }, o.signal, o.deadlineMs);
    if (res.status !== 200) throw this.#statusError(res);
    let decoded: ReturnType<typeof decodeInferResponse>;
    try {
      decoded = decodeInferResponse(res.body, res.headers.get(HEADER_LENGTH));
    } catch (err) {
      this.breaker.failure();
      throw err instanceof SiglipError ? new SiglipError(err.code, `backend ${this.label}, model ${name}: ${err.message}`, { cause: err, details: { ...err.details, backend: this.label } }) : err;
    }
    for (const want of o.outputs ?? []) {
      if (!(want in decoded.outputs)) {
        this.breaker.failure();
        throw this.#bad(`model ${name} did not return output ${want}`);
      }
    }
    this.breaker.success();
    return { outputs: decoded.outputs, modelName: decoded.header.model_name ?? name, modelVersion: decoded.header.model_version, bytesSent: encoded.body.byteLength, bytesReceived: res.body.byteLength };
  }

  /** One GET whose status is the answer (health); never throws for a non-200 status. */
  async #probe(path: string, signal?: AbortSignal): Promise<number> {
    const status = (await this.#call("GET", path, undefined, signal)).status;
    if (status === 200) this.breaker.success();
    return status;
  }

  async #getJson(path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const res = await this.#call("GET", path, undefined, signal);
    if (res.status !== 200) throw this.#statusError(res);
    let j: unknown;
    try {
      j = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(res.body));
    } catch {
      this.breaker.failure();
      throw this.#bad(`${path} answered with a body that is not JSON`);
    }
    if (typeof j !== "object" || j === null || Array.isArray(j)) {
      this.breaker.failure();
      throw this.#bad(`${path} answered with JSON that is not an object`);
    }
    this.breaker.success();
    return j as Record<string, unknown>;
  }

  #bad(message: string, details: Record<string, unknown> = {}): SiglipError {
    return new SiglipError("BACKEND_BAD_RESPONSE", `backend ${this.label}: ${message}`, { details: { backend: this.label, ...details } });
  }

  /** A non-200 answer as a typed error: 503 unavailable (with Retry-After), 5xx and 4xx bad gateway. */
  #statusError(res: Attempt): SiglipError {
    const msg = backendMessage(res.body);
    const text = `backend ${this.label} answered HTTP ${res.status}${msg ? `: ${msg}` : ""}`;
    if (res.status === 503) {
      return new SiglipError("BACKEND_UNAVAILABLE", text, { details: { backend: this.label, status: 503, retryAfterSeconds: parseRetryAfter(res.headers.get("retry-after")) ?? 1 } });
    }
    // 4xx: the backend rejected what we sent (model missing, contract mismatch): a gateway problem, not the user's.
    return new SiglipError("BACKEND_BAD_RESPONSE", text, { details: { backend: this.label, status: res.status } });
  }

  /** Admission (breaker, limiter), deadline, retries; resolves with a complete response, any status. */
  async #call(method: string, path: string, req: { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } | undefined, signal?: AbortSignal, deadlineOverride?: number): Promise<Attempt> {
    const deadlineMs = deadlineOverride ?? this.#o.deadlineMs ?? 10_000;
    const deadline = timeoutController(deadlineMs, "deadline", signal);
    try {
      return await this.limiter.run(() => this.#attempts(method, path, req, deadline.signal), deadline.signal, this.label);
    } catch (err) {
      throw this.#typed(err, signal);
    } finally {
      deadline.clear();
    }
  }

  async #attempts(method: string, path: string, req: { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } | undefined, signal: AbortSignal): Promise<Attempt> {
    const retries = this.#o.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      this.breaker.admit(this.label);
      let res: Attempt;
      try {
        res = await this.#once(method, path, req, signal);
      } catch (err) {
        const retryable = (err as { [RETRYABLE]?: boolean })[RETRYABLE] === true;
        // A timeout or network error says the backend is unwell; the caller's own abort says nothing about it.
        if (!(err instanceof TimeoutReason) && !isSiglipError(err)) this.breaker.neutral();
        else this.breaker.failure();
        if (!retryable || attempt >= retries || signal.aborted) throw err;
        await sleep(backoffMs(attempt, this.#o.backoffBaseMs ?? 50, this.#o.backoffMaxMs ?? 1000, this.#o.random), signal);
        continue;
      }
      if (res.status >= 500) this.breaker.failure();
      else if (res.status !== 200) this.breaker.success(); // a 4xx is an answer: the backend is up
      if (res.status === 503 && attempt < retries) {
        const ra = parseRetryAfter(res.headers.get("retry-after"));
        const wait = ra !== undefined ? ra * 1000 : backoffMs(attempt, this.#o.backoffBaseMs ?? 50, this.#o.backoffMaxMs ?? 1000, this.#o.random);
        if (wait < 1000 * 30) {
          try {
            await sleep(wait, signal);
            continue;
          } catch {
            return res; // the deadline ends the wait: report the 503 itself
          }
        }
      }
      return res;
    }
  }

  /** One HTTP exchange with connect and read timeouts; the body is read completely, capped in size. */
  async #once(method: string, path: string, req: { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } | undefined, parent: AbortSignal): Promise<Attempt> {
    const connect = timeoutController(this.#o.connectTimeoutMs ?? 5000, "connect", parent);
    let response: Response;
    try {
      const init: RequestInit = { method, headers: { ...this.#o.headers, ...req?.headers }, signal: connect.signal, redirect: "manual" };
      if (req !== undefined) init.body = req.body;
      response = await this.#fetch(`${this.url}${path}`, init);
    } catch (err) {
      connect.clear();
      if (connect.signal.aborted) throw connect.signal.reason;
      const cause = errorCause(err);
      const e = new SiglipError("BACKEND_UNAVAILABLE", `backend ${this.label} cannot be reached${cause.code ? ` (${cause.code})` : ""}`, {
        cause: err,
        details: { backend: this.label, retryAfterSeconds: 1 },
      });
      // Only a refused connection is known to have sent nothing; other network errors may follow a sent request.
      if (cause.code === "ECONNREFUSED" || /refused/i.test(cause.message)) Object.assign(e, { [RETRYABLE]: true });
      throw e;
    }
    connect.clear();
    const body = await this.#readBody(response, parent);
    return { status: response.status, headers: response.headers, body };
  }

  async #readBody(response: Response, parent: AbortSignal): Promise<Uint8Array> {
    const max = this.#o.maxResponseBytes ?? 64 * 1024 * 1024;
    const readMs = this.#o.readTimeoutMs ?? 5000;
    const declared = response.headers.get("content-length");
    if (declared !== null && Number(declared) > max) {
      await response.body?.cancel().catch(() => undefined);
      throw this.#bad(`response of ${declared} bytes is over the ${max}-byte limit`);
    }
    if (response.body === null) return new Uint8Array(0);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const idle = timeoutController(readMs, "read", parent);
      const onAbort = () => void reader.cancel(idle.signal.reason).catch(() => undefined);
      idle.signal.addEventListener("abort", onAbort, { once: true });
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        if (idle.signal.aborted) throw idle.signal.reason;
        throw this.#bad(`the response body ended early (${total} bytes read)`, { cause: errorCause(err).message });
      } finally {
        idle.signal.removeEventListener("abort", onAbort);
        idle.clear();
      }
      if (idle.signal.aborted) throw idle.signal.reason;
      if (r.done) break;
      total += r.value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        throw this.#bad(`response is over the ${max}-byte limit`);
      }
      chunks.push(r.value);
    }
    if (declared !== null && Number(declared) !== total) throw this.#bad(`the response body has ${total} of ${declared} declared bytes`);
    return concatBytes(chunks);
  }

  /** Maps whatever ended a call to a typed error: timeouts to `BACKEND_TIMEOUT`, a caller's abort passes through. */
  #typed(err: unknown, callerSignal: AbortSignal | undefined): unknown {
    if (isSiglipError(err)) return err;
    if (err instanceof TimeoutReason) {
      return new SiglipError("BACKEND_TIMEOUT", `backend ${this.label}: ${err.message}`, { cause: err, details: { backend: this.label, limit: err.limit, retryAfterSeconds: 1 } });
    }
    if (callerSignal?.aborted && err === callerSignal.reason) return err;
    return new SiglipError("BACKEND_UNAVAILABLE", `backend ${this.label}: ${errorCause(err).message}`, { cause: err, details: { backend: this.label, retryAfterSeconds: 1 } });
  }
}

function modelPath(name: string, version?: string): string {
  return `/v2/models/${encodeURIComponent(name)}${version !== undefined ? `/versions/${encodeURIComponent(version)}` : ""}`;
}
