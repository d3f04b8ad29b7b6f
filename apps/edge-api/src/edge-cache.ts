/**
 * Label-embedding caches for Workers: isolate memory first, then the Cache API (per data centre, free), then KV
 * (global, eventually consistent) when a namespace is bound. Values are float32 bytes.
 * @module
 */
import { memoryEmbeddingCache, type EmbeddingCache } from "@siglip-edge/runtime";

/** The subset of a KV namespace used here. */
export interface KvLike {
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  put(key: string, value: ArrayBuffer, options?: { expirationTtl?: number }): Promise<void>;
}

/** The subset of the Cache API used here. */
export interface CacheLike {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
}

const toBytes = (v: Float32Array): ArrayBuffer => v.slice().buffer;

export function layeredEmbeddingCache(layers: { cache?: CacheLike; kv?: KvLike }): EmbeddingCache {
  const memory = memoryEmbeddingCache(4096);
  // The Cache API keys on GET requests: a synthetic URL per key.
  const req = (key: string) => new Request(`https://label-cache.siglip-edge.internal/${encodeURIComponent(key)}`);
  return {
    async get(key) {
      const hit = await memory.get(key);
      if (hit !== undefined) return hit;
      let bytes: ArrayBuffer | null | undefined;
      try {
        bytes = await (await layers.cache?.match(req(key)))?.arrayBuffer();
        if (bytes === undefined && layers.kv) bytes = await layers.kv.get(key, "arrayBuffer");
      } catch {
        return undefined; // a cache outage must not fail the request
      }
      if (bytes === undefined || bytes === null) return undefined;
      const v = new Float32Array(bytes);
      await memory.put(key, v);
      return v;
    },
    async put(key, value) {
      await memory.put(key, value);
      try {
        await layers.cache?.put(req(key), new Response(toBytes(value), { headers: { "cache-control": "max-age=2592000" } }));
        await layers.kv?.put(key, toBytes(value), { expirationTtl: 30 * 86400 });
      } catch {
        // best effort
      }
    },
  };
}
