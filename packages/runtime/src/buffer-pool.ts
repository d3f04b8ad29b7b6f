/**
 * Float32 buffers kept between graph runs, by length. In a Worker every per-run array (pixels, token embeddings,
 * hidden states) is ArrayBuffer garbage once the request ends, and V8 collects such garbage only after tens of MiB of
 * it have accumulated (BENCHMARKS.md, edge-api: +60 MiB per stage Worker under sustained load); reusing one buffer
 * per shape keeps a tower's memory flat. Buffers are taken and given back explicitly, so concurrent runs never share
 * one; the pool keeps the most recently given buffers up to `maxBytes`.
 * @module
 */
export class BufferPool {
  readonly #free = new Map<number, Float32Array>();
  readonly #maxBytes: number;

  constructor(maxBytes = 8 * 2 ** 20) {
    this.#maxBytes = maxBytes;
  }

  /** A buffer of `length` floats: a pooled one (contents undefined), or a new one. */
  take(length: number): Float32Array {
    const b = this.#free.get(length);
    if (b === undefined) return new Float32Array(length);
    this.#free.delete(length);
    return b;
  }

  /** Gives a buffer back for later `take`s (the caller no longer reads or writes it). */
  give(buffer: Float32Array): void {
    this.#free.delete(buffer.length);
    this.#free.set(buffer.length, buffer);
    let bytes = 0;
    for (const b of this.#free.values()) bytes += b.byteLength;
    for (const [length, b] of this.#free) {
      if (bytes <= this.#maxBytes) break;
      this.#free.delete(length); // oldest first
      bytes -= b.byteLength;
    }
  }

  /** Bytes held for reuse. */
  get heldBytes(): number {
    let bytes = 0;
    for (const b of this.#free.values()) bytes += b.byteLength;
    return bytes;
  }
}
