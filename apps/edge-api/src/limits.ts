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
