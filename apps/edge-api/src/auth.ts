/**
 * Optional bearer-token auth. Keys are stored only as SHA-256 hex digests (`API_KEY_HASHES`), so a leaked
 * configuration does not leak keys; the presented token is hashed and compared in constant time.
 * @module
 */
import { sha256Hex } from "@siglip-edge/core";
import { ApiError } from "./errors.ts";

function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Throws 401 unless `authorization` carries a bearer token whose hash is in `keyHashes`; returns the key's hash. */
export async function checkBearer(authorization: string | undefined, keyHashes: readonly string[]): Promise<string> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (m === null) throw new ApiError("invalid_api_key", "missing bearer token (Authorization: Bearer <key>)");
  const hash = await sha256Hex(m[1] as string);
  let ok = false;
  for (const h of keyHashes) ok = equalConstantTime(hash, h.toLowerCase()) || ok; // no early exit
  if (!ok) throw new ApiError("invalid_api_key", "invalid API key");
  return hash;
}
