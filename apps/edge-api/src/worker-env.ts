/** Bindings and variables of the Worker (wrangler.toml). */
import type { R2BucketLike } from "@siglip-edge/runtime";
import type { KvLike } from "./edge-cache.ts";

export interface WorkerEnv {
  /** R2 bucket holding bundles, one folder per model. */
  MODELS: R2BucketLike;
  /** Optional KV namespace for label embeddings. */
  LABELS?: KvLike;
  /**
   * JSON list of served bundles: `[{"id": "google/siglip2-base-patch16-224", "prefix": "siglip2-base-patch16-224/"}]`;
   * `"foldTokenIds": true` only for tiny random fixtures.
   */
  MODEL_BUNDLES?: string;
  /** JSON routing table of models served by KServe v2 / Triton backends (see backend-routing.ts). */
  MODEL_BACKENDS?: string;
  /** `all` (default): this Worker runs both towers; `api`: towers behind service bindings; `text` / `vision`: a tower role. */
  ROLE?: string;
  /**
   * Service bindings to tower roles (used when ROLE is `api`). A staged deployment (bundle converted with
   * `--stages K`) binds stage 0 as `TEXT_TOWER` / `VISION_TOWER` and stage k as `TEXT_TOWER_<k>` / `VISION_TOWER_<k>`.
   */
  TEXT_TOWER?: { fetch(request: Request): Promise<Response> };
  VISION_TOWER?: { fetch(request: Request): Promise<Response> };
  /** Tower roles of a staged deployment: which stage of the tower this Worker runs (`0` .. `K-1`). */
  STAGE?: string;
  /**
   * `1`: the API / all role also answers `GET /internal/stats` (the isolate's WASM bytes: decoders, and the engine in
   * role `all`) for the memory benchmark. Off by default: the API role is public. Tower roles always answer it (they
   * have no public route).
   */
  INTERNAL_STATS?: string;
  [key: string]: unknown;
}
