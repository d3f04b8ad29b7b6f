/** A bounded least-recently-used map: isolate-memory caches for label embeddings and token-table rows. */
export class LruCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key); // re-insert: Map iteration order is the recency order
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#map.size;
  }
}

/** An `EmbeddingCache` in isolate memory. */
export function memoryEmbeddingCache(maxEntries = 4096): {
  get(key: string): Promise<Float32Array | undefined>;
  put(key: string, value: Float32Array): Promise<void>;
} {
  const lru = new LruCache<string, Float32Array>(maxEntries);
  return {
    get: async (key) => lru.get(key),
    put: async (key, value) => lru.set(key, value),
  };
}
