/**
 * Request admission: a fixed-window rate limit per client (API key hash or "anonymous"), and a cap on inferences in
 * flight per isolate (the 128 MB are shared by concurrent requests, edge-runtime §10.2 #6). Both answer 429 with
 * Retry-After instead of queueing without bound.
 * @module
 */
import { concatBytes } from "@siglip-edge/core";
import { ApiError } from "./errors.ts";
import { FifoGate } from "./gate.ts";

export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

export class FixedWindowLimiter {
  readonly #limit: RateLimit;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(limit: RateLimit) {
    this.#limit = limit;
  }

  /** Counts one request for `key`; throws 429 when the window is full. */
  hit(key: string, now = Date.now()): void {
    const ms = this.#limit.windowSeconds * 1000;
    const w = this.#windows.get(key);
    if (w === undefined || now - w.start >= ms) {
      if (this.#windows.size > 10_000) this.#windows.clear(); // bounded memory; a reset only forgives
      this.#windows.set(key, { start: now, count: 1 });
      return;
    }
    if (w.count >= this.#limit.requests) {
      const retryAfter = Math.max(1, Math.ceil((w.start + ms - now) / 1000));
      throw new ApiError("rate_limited", `rate limit of ${this.#limit.requests} requests per ${this.#limit.windowSeconds} s reached`, { retryAfter });
    }
    w.count++;
  }
}

/**
 * At most `max` inferences at once, up to `queue` more waiting in arrival order; beyond that 429 `overloaded`. Waiters
 * poll (gate.ts): in workerd a request awaiting a promise another request resolves is cancelled as hung.
 */
export class Admission {
  readonly #gate: FifoGate;

  constructor(max: number, queue: number) {
    this.#gate = new FifoGate(queue, { concurrency: max, overloaded: () => new ApiError("overloaded", "the server is busy; retry shortly", { retryAfter: 1 }) });
  }

  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#gate.run(fn, "inference", signal);
  }
}

/**
 * Reads a body under a byte cap: a declared `content-length` over the cap fails before reading, and the stream is
 * cancelled as soon as the running total passes it, so an oversized body is never buffered whole.
 */
export async function readCappedBody(body: ReadableStream<Uint8Array> | null, declaredLength: string | null | undefined, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  const declared = Number(declaredLength ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/**
 * Lingering close, as nginx's `lingering_close`: when the API answers before reading a request body to its end (413
 * over the size cap, 415, an early 401), the server keeps reading and discarding the rest, up to these bounds, so a
 * client that writes its whole body before reading (Python's urllib, many SDKs) gets the answer instead of a reset
 * connection. Past either bound the connection is dropped.
 */
export const LINGER = { maxBytes: 128 * 1024 * 1024, maxMs: 30_000 };

/**
 * A request body for the app whose `cancel()` only detaches the app (readCappedBody cancels at the cap), leaving the
 * connection's stream to `finish()`, which reads and discards what is left, within `limits`.
 * `finish()` resolves true once the body was read to its end, false when a bound was hit (the stream is cancelled).
 */
export function lingeringBody(source: ReadableStream<Uint8Array>, limits: { maxBytes: number; maxMs: number } = LINGER): { body: ReadableStream<Uint8Array>; finish: () => Promise<boolean> } {
  const reader = source.getReader();
  let ended = false;
  let detached = false;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (detached) return; // cancelled while this read was pending: finish() counts what follows
        if (done) {
          ended = true;
          controller.close();
        } else controller.enqueue(value);
      },
      cancel() {
        detached = true;
      },
    },
    { highWaterMark: 0 },
  );
  const finish = async (): Promise<boolean> => {
    detached = true;
    if (ended) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), limits.maxMs)));
    let discarded = 0;
    try {
      for (;;) {
        const r = await Promise.race([reader.read(), deadline]);
        if (r === "timeout") break;
        if (r.done) return (ended = true);
        discarded += r.value.byteLength;
        if (discarded > limits.maxBytes) break;
      }
      await reader.cancel().catch(() => undefined);
      return false;
    } catch {
      return false; // the client went away
    } finally {
      clearTimeout(timer);
    }
  };
  return { body, finish };
}
