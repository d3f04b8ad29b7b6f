/**
 * A local imitation of the Hugging Face hub's file endpoints on 127.0.0.1, serving a checkpoint directory:
 * `GET /api/models/{id}/revision/{rev}?blobs=true` (commit sha and siblings with size, git blob id, LFS sha256 for
 * *.safetensors) and `GET /{id}/resolve/{rev}/{file}` with Range support. Faults: drop the connection after N bytes
 * of a file (a number of times), serve a corrupted copy of a file, require a bearer token.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface HubFaults {
  /** Close the socket after this many body bytes of `file`, for the first `times` requests of it. */
  drop?: { file: string; afterBytes: number; times: number };
  /** Serve this file with one byte flipped (same size), so only the hash can catch it. */
  corrupt?: string;
  /** Require `authorization: Bearer <token>`. */
  token?: string;
  /** Answer `resolve` for *.safetensors with a 302 to `/cdn/{file}`, as the hub sends LFS files to its CDN. */
  lfsRedirect?: boolean;
}

export interface HubImitation {
  endpoint: string;
  commit: string;
  requests: { path: string; range: string | undefined; auth: string | undefined }[];
  close(): Promise<void>;
}

export async function startHub(repoId: string, dir: string, faults: HubFaults = {}): Promise<HubImitation> {
  const files = new Map<string, Buffer>();
  for (const f of readdirSync(dir)) files.set(f, readFileSync(join(dir, f)));
  const commit = createHash("sha1").update([...files.keys()].sort().join(",")).digest("hex");
  const siblings = [...files].map(([name, data]) => {
    const s: Record<string, unknown> = {
      rfilename: name,
      size: data.length,
      blobId: createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex"),
    };
    if (name.endsWith(".safetensors")) s["lfs"] = { sha256: createHash("sha256").update(data).digest("hex"), size: data.length, pointerSize: 134 };
    return s;
  });
  const requests: HubImitation["requests"] = [];
  let drops = faults.drop?.times ?? 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ path: url.pathname, range: req.headers.range, auth: req.headers.authorization });
    if (faults.token !== undefined && req.headers.authorization !== `Bearer ${faults.token}`) {
      res.writeHead(401).end("unauthorized");
      return;
    }
    const api = `/api/models/${repoId}/revision/`;
    if (url.pathname.startsWith(api)) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: repoId, sha: commit, siblings }));
      return;
    }
    const m = new RegExp(`^/${repoId}/resolve/([^/]+)/(.+)$`).exec(url.pathname) ?? /^\/cdn\/()(.+)$/.exec(url.pathname);
    const name = m?.[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (faults.lfsRedirect === true && name?.endsWith(".safetensors") === true && !url.pathname.startsWith("/cdn/")) {
      res.writeHead(302, { location: `/cdn/${encodeURIComponent(name)}` }).end();
      return;
    }
    let body = name === undefined ? undefined : files.get(name);
    if (body === undefined || name === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    if (faults.corrupt === name) {
      body = Buffer.from(body);
      body[body.length >> 1] = (body[body.length >> 1] as number) ^ 0x01;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range !== null) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416).end();
        return;
      }
    }
    const slice = body.subarray(start);
    const headers = { "content-length": String(slice.length), "accept-ranges": "bytes", "x-repo-commit": commit, etag: `"${commit}"` };
    if (range !== null) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    if (faults.drop?.file === name && drops > 0) {
      drops--;
      res.write(slice.subarray(0, faults.drop.afterBytes), () => res.destroy()); // connection dropped mid-file
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    commit,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
