/**
 * The local cache (`SIGLIP_CACHE`, else `$XDG_CACHE_HOME/siglip-edge`, else `~/.cache/siglip-edge`, as the tokenizer
 * uses): hub downloads under `hub/OWNER--NAME/REVISION/`, converted bundles under `bundles/OWNER--NAME/REVISION/DTYPE/`.
 * @module
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";

export type Env = Record<string, string | undefined>;

export function cacheRoot(env: Env = process.env): string {
  return env["SIGLIP_CACHE"] ?? join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "siglip-edge");
}

/** What works without the hub (tiny.ts), said wherever a model is missing or the hub cannot be reached. */
export const OFFLINE_HINT = "offline? --model tiny (or tiny-naflex) works in every command without a download: random weights, generated locally";

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validates a hub model id ("owner/name"); no path traversal. */
export function checkModelId(id: string): string {
  if (!MODEL_ID.test(id) || id.includes("..")) throw new SiglipError("INVALID_ARGUMENT", `not a hub model id: ${JSON.stringify(id)}`);
  return id;
}

function slug(id: string): string {
  return checkModelId(id).replace("/", "--");
}

function checkRevision(rev: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(rev) || rev.includes("..")) throw new SiglipError("INVALID_ARGUMENT", `bad revision ${JSON.stringify(rev)}`);
  return rev.replaceAll("/", "--");
}

export function hubCacheDir(id: string, revision: string, env: Env = process.env): string {
  return join(cacheRoot(env), "hub", slug(id), checkRevision(revision));
}

export function bundleCacheDir(id: string, revision: string, dtype: string, env: Env = process.env): string {
  return join(cacheRoot(env), "bundles", slug(id), checkRevision(revision), dtype);
}

/**
 * `--model` to a bundle directory, for every command (`npm start`, `siglip serve|embed|classify|audit run|backend|
 * triton-repo`): a directory holding manifest.json; `tiny` or `tiny-naflex`, the offline random-weight models,
 * generated into the cache on first use (tiny.ts); or a hub id already pulled into the cache. Throws `NOT_FOUND`
 * with the command to run otherwise.
 */
export async function resolveModel(model: string, opts: { revision?: string; dtype?: string; env?: Env; log?: (line: string) => void } = {}): Promise<string> {
  if (existsSync(join(model, "manifest.json"))) return model;
  const tiny = await import("./tiny.ts");
  if (tiny.isTinyModel(model)) return tiny.ensureTinyModel(model, opts);
  if (!MODEL_ID.test(model)) throw new SiglipError("NOT_FOUND", `${model}: not a bundle directory (no manifest.json) and not a hub model id (${OFFLINE_HINT})`);
  const dir = bundleCacheDir(model, opts.revision ?? "main", opts.dtype ?? "fp32", opts.env);
  if (!existsSync(join(dir, "manifest.json"))) {
    throw new SiglipError("NOT_FOUND", `${model} is not in the cache (${dir}); run: siglip pull ${model} (${OFFLINE_HINT})`);
  }
  return dir;
}
