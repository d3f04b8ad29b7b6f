/**
 * Server settings, shared by the Worker (from `env` vars) and `siglip serve` (flags and environment).
 * @module
 */
import type { ImageFetchPolicy } from "./image-input.ts";
import { DEFAULT_IMAGE_POLICY } from "./image-input.ts";
import type { RateLimit } from "./limits.ts";

export interface ApiConfig {
  /** SHA-256 hex digests of accepted API keys; empty means auth is off. */
  apiKeyHashes: readonly string[];
  maxBodyBytes: number;
  maxImages: number;
  maxTexts: number;
  maxLabels: number;
  maxTemplates: number;
  /** Longest accepted text, in characters (tokenization truncates to 64 tokens anyway). */
  maxTextChars: number;
  rateLimit?: RateLimit;
  /** Inferences in flight per isolate / process, and how many more may wait. */
  maxConcurrent: number;
  maxQueued: number;
  /**
   * Largest `max_num_patches` a NaFlex request may ask for (a model's own default is always allowed): bounds a
   * request's vision activations, which grow with N (1024 patches: 4x the 256 default).
   */
  maxNumPatches: number;
  images: ImageFetchPolicy;
}

export const DEFAULT_CONFIG: ApiConfig = {
  apiKeyHashes: [],
  maxBodyBytes: 20 * 1024 * 1024,
  maxImages: 32,
  maxTexts: 256,
  maxLabels: 256,
  maxTemplates: 16,
  maxTextChars: 8192,
  maxConcurrent: 1,
  maxQueued: 16,
  maxNumPatches: 1024,
  images: DEFAULT_IMAGE_POLICY,
};

function int(v: string | undefined, fallback: number): number {
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** Reads settings from string variables (Worker `vars`/secrets, or `process.env`). */
export function configFromVars(vars: Record<string, unknown>): ApiConfig {
  const s = (k: string): string | undefined => (typeof vars[k] === "string" ? (vars[k] as string) : undefined);
  const hashes = (s("API_KEY_HASHES") ?? "").split(",").map((h) => h.trim()).filter((h) => /^[0-9a-fA-F]{64}$/.test(h));
  const rl = int(s("RATE_LIMIT_PER_MINUTE"), 0);
  const allow = (s("IMAGE_URL_TEST_ALLOW_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter((o) => o !== "");
  return {
    ...DEFAULT_CONFIG,
    apiKeyHashes: hashes,
    maxBodyBytes: int(s("MAX_BODY_BYTES"), DEFAULT_CONFIG.maxBodyBytes),
    maxImages: int(s("MAX_IMAGES"), DEFAULT_CONFIG.maxImages),
    maxTexts: int(s("MAX_TEXTS"), DEFAULT_CONFIG.maxTexts),
    maxConcurrent: Math.max(1, int(s("MAX_CONCURRENT"), DEFAULT_CONFIG.maxConcurrent)),
    maxQueued: int(s("MAX_QUEUED"), DEFAULT_CONFIG.maxQueued),
    maxNumPatches: int(s("MAX_NUM_PATCHES"), DEFAULT_CONFIG.maxNumPatches),
    ...(rl > 0 ? { rateLimit: { requests: rl, windowSeconds: 60 } } : {}),
    images: {
      ...DEFAULT_IMAGE_POLICY,
      allowUrls: s("IMAGE_URLS") !== "off",
      maxBytes: int(s("MAX_IMAGE_BYTES"), DEFAULT_IMAGE_POLICY.maxBytes),
      timeoutMs: int(s("IMAGE_FETCH_TIMEOUT_MS"), DEFAULT_IMAGE_POLICY.timeoutMs),
      ...(allow.length > 0 ? { testAllowOrigins: allow } : {}),
    },
  };
}
