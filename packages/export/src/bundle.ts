/**
 * Bundles on disk: a directory with `manifest.json`, ONNX graphs with external data, the split token table, the
 * NaFlex position grid and the tokenizer. The manifest contract (type, parsing, size and sha256 checks) is
 * packages/core's manifest.ts; this module describes files as the converter writes them and verifies a directory
 * against its manifest with Node's native sha256. The format is documented in README.md ("Bundle format").
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_FILE, parseManifest, SiglipError, verifyManifestFiles, type BundleFile, type BundleManifest } from "@siglip-edge/core";

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function describeFile(dir: string, path: string, role: string, dtype?: string): Promise<BundleFile> {
  const full = join(dir, path);
  const f: BundleFile = { path, role, bytes: (await stat(full)).size, sha256: await sha256File(full) };
  if (dtype !== undefined) f.dtype = dtype;
  return f;
}

/** Reads `manifest.json`. Throws `NOT_FOUND` / `CHECKPOINT_INVALID`. */
export async function readManifest(dir: string): Promise<BundleManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (e) {
    throw new SiglipError("NOT_FOUND", `${dir}: no ${MANIFEST_FILE} (not a bundle)`, { cause: e });
  }
  return parseManifest(text, `${dir}/`);
}

/**
 * Checks every listed file's size, then (unless `hashes: false`) its sha256. Throws `INTEGRITY_MISMATCH` naming the
 * first bad file, `NOT_FOUND` for a missing one.
 */
export async function verifyBundle(dir: string, m: BundleManifest, opts: { hashes?: boolean } = {}): Promise<void> {
  const probe = {
    location: "",
    size: async (path: string) => {
      try {
        return (await stat(join(dir, path))).size;
      } catch (e) {
        throw new SiglipError("NOT_FOUND", `bundle file ${path} is missing`, { cause: e, details: { file: path } });
      }
    },
    sha256: (path: string) => sha256File(join(dir, path)),
  };
  await verifyManifestFiles(m, probe, opts);
}

/** Loads and verifies a bundle's manifest. */
export async function loadManifest(dir: string, opts: { hashes?: boolean } = {}): Promise<BundleManifest> {
  const m = await readManifest(dir);
  await verifyBundle(dir, m, opts);
  return m;
}
