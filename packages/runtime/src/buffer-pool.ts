/**
 * Typed-array buffers kept between runs, by length (Float32 by default; the edge API's tower Workers pool request
 * bodies as bytes). In a Worker every per-run array (pixels, token embeddings, hidden states, request bodies) is
 * ArrayBuffer garbage once the request ends, and V8 collects such garbage only after tens of MiB of it have
 * accumulated (BENCHMARKS.md, edge-api: +60 MiB per stage Worker under sustained load); reusing buffers keeps a
 * tower's memory flat. Buffers are taken and given back explicitly, so concurrent runs never share one. Two are kept
 * per length (a stage's output is still being sent while the next request runs), up to `maxBytes` in all.
 * @module
 */
type Pooled = Float32Array | Uint8Array<ArrayBuffer>;

export class BufferPool<T extends Pooled = Float32Array> {
  readonly #free = new Map<number, T[]>();
  readonly #maxBytes: number;
  readonly #perLength: number;
  readonly #create: (length: number) => T;

  /** @param create makes a new buffer of `length` elements (default: a Float32Array) */
  constructor(maxBytes = 8 * 2 ** 20, perLength = 2, create: (length: number) => T = (n) => new Float32Array(n) as T) {
    this.#maxBytes = maxBytes;
    this.#perLength = perLength;
    this.#create = create;
  }

  /** A buffer of `length` elements: a pooled one (contents undefined), or a new one. */
  take(length: number): T {
    return this.#free.get(length)?.pop() ?? this.#create(length);
  }

  /** Gives a buffer back for later `take`s (the caller no longer reads or writes it). */
  give(buffer: T): void {
    const list = this.#free.get(buffer.length) ?? [];
    if (list.includes(buffer)) return;
    this.#free.delete(buffer.length); // re-inserted last: lengths are evicted least recently given first
    this.#free.set(buffer.length, [...list, buffer].slice(-this.#perLength));
    let bytes = this.heldBytes;
    for (const [length, bufs] of this.#free) {
      if (bytes <= this.#maxBytes) break;
      this.#free.delete(length);
      for (const b of bufs) bytes -= b.byteLength;
    }
  }

  /** Bytes held for reuse. */
  get heldBytes(): number {
    let bytes = 0;
    for (const bufs of this.#free.values()) for (const b of bufs) bytes += b.byteLength;
    return bytes;
  }
}
