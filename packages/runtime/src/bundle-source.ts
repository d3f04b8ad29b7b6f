/**
 * Where bundle files come from: R2 (Workers), HTTP(S), or the filesystem (node/fs-source.ts). A source reads whole
 * files and byte ranges; `verifiedRead` checks a whole file against the manifest's size and SHA-256 before anything
 * uses it, so a truncated upload or a wrong revision fails loudly (`INTEGRITY_MISMATCH`) instead of producing
 * plausible wrong vectors.
 * @module
 */
import { checkFileSha256, checkFileSize, MANIFEST_FILE, parseManifest, Sha256, sha256Hex, SiglipError, type BundleManifest, type FileDigest } from "@siglip-edge/core";

export interface BundleSource {
  /** A human-readable location for messages, e.g. `r2://models/tiny-fixres/`. */
  readonly location: string;
  read(path: string): Promise<Uint8Array>;
  /** `length` bytes from `offset`. */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * A file, or `length` bytes of it from `offset`, as a stream (R2 and HTTP sources): lets the JSPI engine pull one
   * tensor at a time and lets `verifyStreamed` hash a weight file without holding it.
   */
  stream?(path: string, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array>>;
  /** A local file path, when the source is a filesystem (onnxruntime-node opens graphs by path). */
  localPath?(path: string): string;
}

/** The subset of a Workers `R2Bucket` this module uses (structural, so the package needs no Workers types). */
export interface R2BucketLike {
  get(
    key: string,
    options?: { range?: { offset: number; length: number } },
  ): Promise<{ arrayBuffer(): Promise<ArrayBuffer>; body: ReadableStream<Uint8Array> } | null>;
}

function notFound(location: string, path: string): never {
  throw new SiglipError("NOT_FOUND", `bundle file ${path} not found in ${location}`);
}

/** Files under `prefix` in an R2 bucket; ranged reads are R2 ranged GETs. */
export function r2BundleSource(bucket: R2BucketLike, prefix: string): BundleSource {
  const base = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  const location = `r2://${base}`;
  return {
    location,
    async read(path) {
      const obj = await bucket.get(base + path);
      if (obj === null) notFound(location, path);
      return new Uint8Array(await obj.arrayBuffer());
    },
    async readRange(path, offset, length) {
      const obj = await bucket.get(base + path, { range: { offset, length } });
      if (obj === null) notFound(location, path);
      const bytes = new Uint8Array(await obj.arrayBuffer());
      if (bytes.byteLength !== length) {
        throw new SiglipError("INTEGRITY_MISMATCH", `${location}${path}: range ${offset}+${length} returned ${bytes.byteLength} bytes`);
      }
      return bytes;
    },
    async stream(path, range) {
      const obj = await bucket.get(base + path, range === undefined ? {} : { range });
      if (obj === null) notFound(location, path);
      return obj.body;
    },
  };
}

/** Files under a base URL; ranged reads use `Range: bytes=a-b` and require a 206. */
export function httpBundleSource(baseUrl: string, doFetch: typeof fetch = fetch): BundleSource {
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  const get = async (path: string, headers: Record<string, string>): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(new URL(path, base).href, { headers });
    } catch (cause) {
      throw new SiglipError("DOWNLOAD_FAILED", `cannot fetch ${base}${path}`, { cause });
    }
    if (res.status === 404) notFound(base, path);
    if (!res.ok) throw new SiglipError("DOWNLOAD_FAILED", `${base}${path}: HTTP ${res.status}`);
    return res;
  };
  return {
    location: base,
    read: async (path) => new Uint8Array(await (await get(path, {})).arrayBuffer()),
    async readRange(path, offset, length) {
      const res = await get(path, { range: `bytes=${offset}-${offset + length - 1}` });
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 206 || bytes.byteLength !== length) {
        throw new SiglipError("DOWNLOAD_FAILED", `${base}${path}: the server did not honour a byte range (status ${res.status})`);
      }
      return bytes;
    },
    async stream(path, range) {
      const res = await get(path, range === undefined ? {} : { range: `bytes=${range.offset}-${range.offset + range.length - 1}` });
      if (range !== undefined && res.status !== 206) {
        throw new SiglipError("DOWNLOAD_FAILED", `${base}${path}: the server did not honour a byte range (status ${res.status})`);
      }
      if (res.body === null) throw new SiglipError("DOWNLOAD_FAILED", `${base}${path}: empty body`);
      return res.body;
    },
  };
}

/**
 * A BYOB reader on `body` when it is a byte stream (R2 and fetch bodies in workerd are), else undefined (read it
 * chunk by chunk). BYOB reads go into the caller's memory, so nothing is allocated per chunk.
 */
export function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/** The bundle's manifest, parsed and checked (packages/core `parseManifest`). */
export async function readManifest(source: BundleSource): Promise<BundleManifest> {
  return parseManifest(await source.read(MANIFEST_FILE), source.location);
}

/** Reads a whole file and checks its size and SHA-256 against the manifest. */
export async function verifiedRead(source: BundleSource, path: string, expected: FileDigest): Promise<Uint8Array> {
  const bytes = await source.read(path);
  checkFileSize(source.location, path, bytes.byteLength, expected);
  if (expected.sha256 !== undefined) checkFileSha256(source.location, path, await sha256Hex(bytes), expected.sha256);
  return bytes;
}

/**
 * Checks a file's size and SHA-256 while streaming it (BYOB reads into one reused 1 MiB buffer, hashed by the
 * incremental `Sha256` of packages/core), so a weight file is verified before any of it reaches the engine without
 * being held whole or leaving chunk buffers behind (workerd's non-standard `crypto.DigestStream` would do the hashing
 * natively; the portable hasher keeps every runtime on one path). Sources that cannot stream fall back to
 * `verifiedRead` (whole file in memory).
 */
export async function verifyStreamed(source: BundleSource, path: string, expected: FileDigest): Promise<void> {
  if (source.stream === undefined || expected.sha256 === undefined) {
    await verifiedRead(source, path, expected);
    return;
  }
  const body = await source.stream(path);
  let size = 0;
  const hash = new Sha256();
  const byob = byobReader(body);
  if (byob !== undefined) {
    let buffer = new ArrayBuffer(2 ** 20);
    for (;;) {
      const { done, value } = await byob.read(new Uint8Array(buffer));
      if (value === undefined) break;
      buffer = value.buffer as ArrayBuffer;
      if (done) break;
      size += value.byteLength;
      hash.update(value);
    }
  } else {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      hash.update(value);
    }
  }
  checkFileSize(source.location, path, size, expected);
  checkFileSha256(source.location, path, hash.hex(), expected.sha256);
}
