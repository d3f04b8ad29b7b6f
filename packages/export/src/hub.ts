/**
 * Hugging Face hub download: resolves a revision to a commit with `GET /api/models/{id}/revision/{rev}?blobs=true`,
 * fetches the checkpoint files from `/{id}/resolve/{commit}/{file}` into the cache (`hub/OWNER--NAME/COMMIT/`),
 * resumes partial files with HTTP Range after a dropped connection, and verifies each file's size and hash as the hub
 * reports them (sha256 for LFS files, the git blob SHA-1 otherwise). Honours `HF_ENDPOINT` and `HF_TOKEN`.
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { get as httpGet, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { dirname, join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { sha256File } from "./bundle.ts";
import { checkModelId, hubCacheDir, OFFLINE_HINT, type Env } from "./cache.ts";

interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256?: string; oid?: string; size?: number };
}

export interface PullProgress {
  file: string;
  done: number;
  total: number;
}

export interface PullOptions {
  revision?: string;
  env?: Env;
  onProgress?: (p: PullProgress) => void;
  /** Attempts per file (each resumes where the last stopped). Default 5. */
  attempts?: number;
}

export interface PullResult {
  dir: string;
  commit: string;
  files: string[];
}

/** Files a conversion needs; weights are either one file or the index plus its shards. */
const WANTED = ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "model.safetensors", "model.safetensors.index.json"];

function endpoint(env: Env): string {
  return (env["HF_ENDPOINT"] ?? "https://huggingface.co").replace(/\/+$/, "");
}

function headers(env: Env, extra: Record<string, string> = {}): Record<string, string> {
  const token = env["HF_TOKEN"] ?? env["HUGGING_FACE_HUB_TOKEN"];
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function getJson(url: string, env: Env): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: headers(env) });
  } catch (cause) {
    throw new SiglipError("DOWNLOAD_FAILED", `cannot reach ${url} (${OFFLINE_HINT})`, { cause });
  }
  if (res.status === 401 || res.status === 403) throw new SiglipError("DOWNLOAD_FAILED", `${url}: HTTP ${res.status} (gated or private: set HF_TOKEN)`);
  if (res.status === 404) throw new SiglipError("NOT_FOUND", `${url}: not found on the hub`);
  if (!res.ok) throw new SiglipError("DOWNLOAD_FAILED", `${url}: HTTP ${res.status}`);
  return res.json();
}

/** git's blob id: SHA-1 of "blob <size>\0" + content (what the hub reports for non-LFS files). */
async function gitBlobSha1(path: string): Promise<string> {
  const { size } = await stat(path);
  const h = createHash("sha1").update(`blob ${size}\0`);
  const fh = await open(path, "r");
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return h.digest("hex");
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Chunks in arrival order; throws after the last received chunk if the connection dropped. */
  body: AsyncIterable<Buffer>;
  discard(): void;
}

/**
 * Listens to the response synchronously, so every chunk that arrived before a dropped connection is kept (an async
 * iterator started later loses the chunks buffered when the socket is destroyed).
 */
function drain(res: IncomingMessage): AsyncIterable<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failed: Error | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  res.on("data", (c: Buffer) => {
    queue.push(c);
    poke();
  });
  res.on("end", () => {
    ended = true;
    poke();
  });
  res.on("error", (e) => {
    failed ??= e;
    poke();
  });
  res.on("close", () => {
    if (!ended) failed ??= new Error("connection closed before the end of the body");
    poke();
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const c = queue.shift();
        if (c !== undefined) {
          yield c;
          continue;
        }
        if (ended) return;
        if (failed !== null) throw failed;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

/**
 * GET with node:http(s), following up to 5 redirects (the hub sends LFS files to a CDN). The bearer token is only
 * sent to the endpoint's own host, as huggingface_hub does.
 */
function request(url: string, hdrs: Record<string, string>, redirects = 5): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const get = u.protocol === "https:" ? httpsGet : httpGet;
    const req = get(u, { headers: hdrs }, (res) => {
      const status = res.statusCode ?? 0;
      const loc = res.headers.location;
      if (status >= 300 && status < 400 && loc !== undefined && redirects > 0) {
        res.resume();
        const next = new URL(loc, u);
        const h = { ...hdrs };
        if (next.host !== u.host) delete h["authorization"];
        request(next.toString(), h, redirects - 1).then(resolve, reject);
        return;
      }
      resolve({ status, headers: res.headers, body: drain(res), discard: () => res.destroy() });
    });
    req.on("error", reject);
  });
}

/** Downloads one file to `dest`, resuming `dest.incomplete` with Range requests; verifies size and hash. */
async function downloadFile(url: string, dest: string, s: Sibling, env: Env, opts: PullOptions): Promise<void> {
  const expectedSize = s.lfs?.size ?? s.size;
  const sha256 = s.lfs?.sha256 ?? s.lfs?.oid;
  if (existsSync(dest)) {
    if (await verify(dest, s, expectedSize, sha256, false)) return;
    await rm(dest);
  }
  const part = `${dest}.incomplete`;
  await mkdir(dirname(dest), { recursive: true });
  const attempts = opts.attempts ?? 5;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    let have = existsSync(part) ? (await stat(part)).size : 0;
    if (expectedSize !== undefined && have > expectedSize) {
      await rm(part);
      have = 0;
    }
    if (expectedSize !== undefined && have === expectedSize) break;
    let res: RawResponse;
    try {
      res = await request(url, headers(env, have > 0 ? { range: `bytes=${have}-` } : {}));
    } catch (cause) {
      lastError = cause;
      continue;
    }
    if (res.status === 404) throw new SiglipError("NOT_FOUND", `${url}: not found`);
    if (res.status === 401 || res.status === 403) throw new SiglipError("DOWNLOAD_FAILED", `${url}: HTTP ${res.status} (set HF_TOKEN)`);
    if (res.status === 416) {
      res.discard();
      await rm(part, { force: true }); // our partial file is not a prefix the server recognises: start over
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      res.discard();
      lastError = new Error(`HTTP ${res.status}`);
      continue;
    }
    const append = res.status === 206 && have > 0;
    if (!append) have = 0; // server ignored the range: rewrite from the start
    const total = expectedSize ?? Number(res.headers["content-length"] ?? 0) + have;
    const fh = await open(part, append ? "a" : "w");
    try {
      // node:http delivers each chunk as it arrives, so a dropped connection keeps every byte received so far
      // (fetch's web stream discards queued chunks when it errors).
      for await (const chunk of res.body) {
        await fh.write(chunk);
        have += chunk.byteLength;
        opts.onProgress?.({ file: s.rfilename, done: have, total });
      }
      if (expectedSize !== undefined && have < expectedSize) throw new Error(`connection closed at ${have} of ${expectedSize} bytes`);
      lastError = null;
    } catch (cause) {
      lastError = cause; // dropped connection: keep what arrived, resume on the next attempt
    } finally {
      await fh.close();
    }
    if (lastError === null) break;
  }
  if (lastError !== null) {
    throw new SiglipError("DOWNLOAD_FAILED", `${s.rfilename}: download failed after ${attempts} attempts: ${(lastError as Error).message ?? String(lastError)}`, { cause: lastError });
  }
  if (!(await verify(part, s, expectedSize, sha256, true))) throw new SiglipError("INTERNAL", "unreachable");
  await rename(part, dest);
}

/** True when the file matches; with `strict`, a mismatch deletes it and throws `INTEGRITY_MISMATCH`. */
async function verify(path: string, s: Sibling, size: number | undefined, sha256: string | undefined, strict: boolean): Promise<boolean> {
  const fail = async (why: string): Promise<boolean> => {
    if (!strict) return false;
    await rm(path, { force: true });
    throw new SiglipError("INTEGRITY_MISMATCH", `${s.rfilename}: ${why}; the file was deleted`, { details: { file: s.rfilename } });
  };
  const got = (await stat(path)).size;
  if (size !== undefined && got !== size) return fail(`has ${got} bytes, the hub reports ${size}`);
  if (sha256 !== undefined) {
    const h = await sha256File(path);
    if (h !== sha256) return fail(`sha256 ${h} differs from the hub's ${sha256}`);
  } else if (s.blobId !== undefined) {
    const h = await gitBlobSha1(path);
    if (h !== s.blobId) return fail(`git blob id ${h} differs from the hub's ${s.blobId}`);
  }
  return true;
}

/** Downloads a checkpoint's files into the cache; returns the directory (ready for `convertCheckpoint`). */
export async function pullCheckpoint(id: string, opts: PullOptions = {}): Promise<PullResult> {
  const env = opts.env ?? process.env;
  checkModelId(id);
  const revision = opts.revision ?? "main";
  const base = endpoint(env);
  const info = (await getJson(`${base}/api/models/${id}/revision/${encodeURIComponent(revision)}?blobs=true`, env)) as { sha?: string; siblings?: Sibling[] };
  const commit = info.sha;
  if (typeof commit !== "string" || !/^[0-9a-f]{40}$/.test(commit) || !Array.isArray(info.siblings)) {
    throw new SiglipError("DOWNLOAD_FAILED", `${id}@${revision}: unexpected hub API answer`);
  }
  const byName = new Map(info.siblings.map((s) => [s.rfilename, s]));
  const want = WANTED.filter((f) => byName.has(f));
  if (!want.includes("config.json")) throw new SiglipError("CHECKPOINT_INVALID", `${id}@${revision} has no config.json`);
  const dir = hubCacheDir(id, commit, env);
  const get = async (f: string): Promise<void> => {
    const s = byName.get(f);
    if (s === undefined) throw new SiglipError("CHECKPOINT_INVALID", `${id}@${revision}: ${f} is listed in the index but not in the repository`);
    await downloadFile(`${base}/${id}/resolve/${commit}/${f.split("/").map(encodeURIComponent).join("/")}`, join(dir, f), s, env, opts);
  };
  for (const f of want) await get(f);
  const files = [...want];
  if (want.includes("model.safetensors.index.json") && !want.includes("model.safetensors")) {
    const { readFile } = await import("node:fs/promises");
    const index = JSON.parse(await readFile(join(dir, "model.safetensors.index.json"), "utf8")) as { weight_map?: Record<string, string> };
    for (const shard of [...new Set(Object.values(index.weight_map ?? {}))]) {
      if (shard.includes("..") || shard.startsWith("/")) throw new SiglipError("CHECKPOINT_INVALID", `bad shard name ${shard}`);
      await get(shard);
      files.push(shard);
    }
  }
  await mkdir(join(dirname(dir), "refs"), { recursive: true });
  await writeFile(join(dirname(dir), "refs", revision.replaceAll("/", "--")), commit);
  return { dir, commit, files };
}
