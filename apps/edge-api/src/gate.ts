/**
 * At most N requests at a time per isolate, the rest waiting in arrival order, for Workers. A waiting request polls a
 * timer of its own instead of awaiting a promise that another request resolves: workerd cancels a request whose only
 * pending work is a promise owned by another request ("the Worker's code had hung"), which is what a promise-queue
 * semaphore does to every queued request while a running one is busy (measured in local workerd: B/16 vision stage
 * requests under 20 concurrent calls, and API requests queued behind the admission limit).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

export interface GateOptions {
  /** Requests running at once (default 1). */
  concurrency?: number;
  /** How often a waiter checks its turn (ms). */
  pollMs?: number;
  /** A turn held longer than this is taken back (a request cancelled mid-run never reaches its `finally`). */
  staleMs?: number;
  /** The error for a request turned away (queue full) or whose caller left while waiting. */
  overloaded?: (message: string) => Error;
}

export class FifoGate {
  readonly maxQueued: number;
  readonly concurrency: number;
  readonly pollMs: number;
  readonly staleMs: number;
  readonly #overloaded: (message: string) => Error;
  #next = 0; // next ticket to hand out
  #start = 0; // next ticket allowed to start
  readonly #running = new Map<number, number>(); // ticket -> start time
  #shed = 0;
  readonly #abandoned = new Set<number>();

  constructor(maxQueued: number, options: GateOptions = {}) {
    this.maxQueued = maxQueued;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.pollMs = options.pollMs ?? 5;
    this.staleMs = options.staleMs ?? 120_000;
    this.#overloaded = options.overloaded ?? ((m) => new SiglipError("OVERLOADED", m, { details: { retryAfterSeconds: 1 } }));
  }

  /** Requests waiting for their turn (not counting running ones). */
  get queued(): number {
    return this.#next - this.#start;
  }

  get shed(): number {
    return this.#shed;
  }

  /** True when `ticket` may start now (skipping waiters that left, taking back turns held past `staleMs`). */
  #mayStart(ticket: number): boolean {
    while (this.#abandoned.delete(this.#start)) this.#start++;
    if (ticket !== this.#start) return false;
    if (this.#running.size >= this.concurrency) {
      const now = Date.now();
      for (const [t, since] of this.#running) if (now - since > this.staleMs) this.#running.delete(t);
    }
    return this.#running.size < this.concurrency;
  }

  /**
   * Runs `fn` once every earlier request has started and a slot is free; throws the overloaded error at once when
   * the queue is full. A waiter whose `signal` aborts (the caller went away) gives up its place.
   */
  async run<T>(fn: () => Promise<T>, label: string, signal?: AbortSignal): Promise<T> {
    if (this.queued >= this.maxQueued && this.#running.size >= this.concurrency) {
      this.#shed++;
      throw this.#overloaded(`${label}: ${this.#running.size} running and ${this.queued} waiting; try again shortly`);
    }
    const ticket = this.#next++;
    const onAbort = () => this.#abandoned.add(ticket);
    signal?.addEventListener("abort", onAbort, { once: true });
    while (!this.#mayStart(ticket)) {
      if (signal?.aborted) throw this.#overloaded(`${label}: the caller went away while waiting`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    signal?.removeEventListener("abort", onAbort);
    this.#start++;
    this.#running.set(ticket, Date.now());
    try {
      return await fn();
    } finally {
      this.#running.delete(ticket);
    }
  }
}
