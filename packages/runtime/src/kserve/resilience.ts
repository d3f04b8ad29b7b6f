/**
 * Resilience parts of the KServe client: a circuit breaker per backend, a concurrency limiter with a bounded queue
 * that sheds load with a typed `OVERLOADED` error, jittered exponential backoff, and deadline signals. All timers
 * are cleared when their work ends, so nothing keeps a process (or a Worker request) alive.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker (default 5). */
  failureThreshold?: number;
  /** How long it stays open before one probe is let through (default 5000 ms). */
  cooldownMs?: number;
  now?: () => number;
}

/**
 * Closed: calls pass, consecutive failures are counted. Open: calls fail at once with `BACKEND_UNAVAILABLE` and a
 * `retryAfterSeconds` until the cooldown ends. Half-open: one probe passes; its success closes the breaker, its
 * failure opens it for another cooldown.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openedAt = 0;
  #state: BreakerState = "closed";
  #probing = false;
  /** Times the breaker opened (for tests and metrics). */
  opened = 0;

  constructor(o: BreakerOptions = {}) {
    this.#threshold = Math.max(1, o.failureThreshold ?? 5);
    this.#cooldownMs = o.cooldownMs ?? 5000;
    this.#now = o.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#cooldownMs) return "half-open";
    return this.#state;
  }

  /** Throws when no call may pass now; returns a token to settle the call with. */
  admit(label: string): void {
    const s = this.state;
    if (s === "closed") return;
    if (s === "half-open" && !this.#probing) {
      this.#state = "half-open";
      this.#probing = true;
      return;
    }
    const left = Math.max(0, this.#cooldownMs - (this.#now() - this.#openedAt));
    throw new SiglipError("BACKEND_UNAVAILABLE", `backend ${label} is failing; circuit open`, {
      details: { backend: label, breaker: "open", retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)) },
    });
  }

  success(): void {
    this.#failures = 0;
    this.#probing = false;
    this.#state = "closed";
  }

  failure(): void {
    this.#probing = false;
    this.#failures++;
    if (this.#state === "half-open" || this.#failures >= this.#threshold) {
      if (this.#state !== "open") this.opened++;
      this.#state = "open";
      this.#openedAt = this.#now();
    }
  }

  /** A call that ended without telling anything about the backend (cancelled, shed): frees a probe slot. */
  neutral(): void {
    this.#probing = false;
  }
}

/** Bounded concurrency: `max` calls run, up to `maxQueued` wait in order, the rest are shed with `OVERLOADED`. */
export class ConcurrencyLimiter {
  readonly max: number;
  readonly maxQueued: number;
  #active = 0;
  readonly #queue: { start: () => void }[] = [];
  /** Calls shed so far. */
  shed = 0;

  constructor(max: number, maxQueued: number) {
    this.max = Math.max(1, max);
    this.maxQueued = Math.max(0, maxQueued);
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Runs `fn` when a slot is free; rejects at once when the queue is full, or when `signal` aborts while waiting. */
  async run<T>(fn: () => Promise<T>, signal: AbortSignal | undefined, label: string): Promise<T> {
    if (this.#active >= this.max) {
      if (this.#queue.length >= this.maxQueued) {
        this.shed++;
        throw new SiglipError("OVERLOADED", `backend ${label}: ${this.#active} requests in flight and ${this.#queue.length} queued; try again shortly`, {
          details: { backend: label, retryAfterSeconds: 1 },
        });
      }
      await new Promise<void>((resolve, reject) => {
        const entry = {
          start: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const i = this.#queue.indexOf(entry);
          if (i !== -1) this.#queue.splice(i, 1);
          reject(signal?.reason);
        };
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#queue.push(entry);
      });
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next !== undefined) next.start(); // the slot passes straight to the next waiter
      else this.#active--;
    }
  }
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base * 2^attempt)]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, baseMs * 2 ** attempt);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first (the timer is cleared). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Why a timer aborted: kept as the abort reason so the client can report which limit was hit. */
export class TimeoutReason extends Error {
  readonly limit: "deadline" | "connect" | "read";
  readonly ms: number;
  constructor(limit: "deadline" | "connect" | "read", ms: number) {
    super(`${limit} timeout after ${ms} ms`);
    this.name = "TimeoutReason";
    this.limit = limit;
    this.ms = ms;
  }
}

/** An AbortController that aborts with a `TimeoutReason` after `ms`, or when `parent` aborts; `clear()` ends it. */
export function timeoutController(ms: number, limit: TimeoutReason["limit"], parent?: AbortSignal): { signal: AbortSignal; clear: () => void; abort: (r: unknown) => void } {
  const c = new AbortController();
  const onParent = () => c.abort(parent?.reason);
  const t = setTimeout(() => c.abort(new TimeoutReason(limit, ms)), Math.max(0, ms));
  if (parent?.aborted) c.abort(parent.reason);
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: c.signal,
    abort: (r) => c.abort(r),
    clear: () => {
      clearTimeout(t);
      parent?.removeEventListener("abort", onParent);
    },
  };
}
