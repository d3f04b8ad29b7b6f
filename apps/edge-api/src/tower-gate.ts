/**
 * One tower request at a time per isolate, in arrival order, for Workers. A waiting request polls a timer of its own
 * instead of awaiting a promise that another request resolves: workerd cancels a request whose only pending work is a
 * promise owned by another request ("the Worker's code had hung"), which is what a promise-queue semaphore does to
 * every queued request while the running one is busy in WASM (measured: B/16 vision stage requests cancelled under
 * 20 concurrent calls in local workerd).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

export class TowerGate {
  readonly maxQueued: number;
  readonly pollMs: number;
  /** A turn held longer than this is taken back (a request cancelled mid-run never reaches its `finally`). */
  readonly staleMs: number;
  #next = 0; // next ticket to hand out
  #serving = 0; // ticket allowed to run
  #since = Date.now(); // when #serving last changed
  #shed = 0;
  readonly #abandoned = new Set<number>();

  constructor(maxQueued: number, options: { pollMs?: number; staleMs?: number } = {}) {
    this.maxQueued = maxQueued;
    this.pollMs = options.pollMs ?? 5;
    this.staleMs = options.staleMs ?? 120_000;
  }

  #advance(): void {
    this.#serving++;
    while (this.#abandoned.delete(this.#serving)) this.#serving++;
    this.#since = Date.now();
  }

  /** Requests waiting for their turn (not counting the running one). */
  get queued(): number {
    return Math.max(0, this.#next - this.#serving - 1);
  }

  get shed(): number {
    return this.#shed;
  }

  /**
   * Runs `fn` when every earlier request has finished; throws `OVERLOADED` at once when the queue is full. A waiter
   * whose `signal` aborts (the caller went away) gives up its place.
   */
  async run<T>(fn: () => Promise<T>, label: string, signal?: AbortSignal): Promise<T> {
    if (this.queued >= this.maxQueued && this.#next > this.#serving) {
      this.#shed++;
      throw new SiglipError("OVERLOADED", `${label}: 1 request running and ${this.queued} waiting; try again shortly`, { details: { retryAfterSeconds: 1 } });
    }
    const ticket = this.#next++;
    const onAbort = () => this.#abandoned.add(ticket);
    signal?.addEventListener("abort", onAbort, { once: true });
    while (ticket !== this.#serving) {
      if (signal?.aborted) throw new SiglipError("OVERLOADED", `${label}: the caller went away while waiting`);
      if (Date.now() - this.#since > this.staleMs) this.#advance();
      else await new Promise((r) => setTimeout(r, this.pollMs));
    }
    signal?.removeEventListener("abort", onAbort);
    try {
      return await fn();
    } finally {
      if (this.#serving === ticket) this.#advance();
    }
  }
}
