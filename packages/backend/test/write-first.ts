/**
 * Clients that send the whole request body before reading the answer, as Python's urllib and many SDKs do, for the
 * lingering-close tests: a server that answers early (413, 415, 401) and closes while the client is still writing
 * makes them fail with a reset or a broken pipe instead of the answer. Exported as `@siglip-edge/backend/testing`
 * (apps/cli's lingering-close test, this package's dev backend test).
 * @module
 */
import { request } from "node:http";
import { connect } from "node:net";

export interface Answer {
  status: number;
  body: string;
}

/** A body of `bytes` spaces, sent in 1 MiB pieces. */
function pieces(bytes: number): Buffer[] {
  const piece = Buffer.alloc(1 << 20, 0x20);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes; at += piece.length) out.push(piece.subarray(0, Math.min(piece.length, bytes - at)));
  return out;
}

/**
 * Node's `http.request`: writes every byte (waiting for drain), ends the request, then reads the answer. Rejects on
 * any error on the connection, also one after an early answer arrived.
 */
export function httpRequestWriteAll(url: string, headers: Record<string, string>, bytes: number): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { ...headers, "content-length": String(bytes) } });
    let answer: Answer | undefined;
    let ended = false;
    const done = () => {
      if (answer !== undefined && ended) resolve(answer);
    };
    req.on("error", reject);
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString("utf8")));
      res.on("end", () => {
        answer = { status: res.statusCode ?? 0, body };
        done();
      });
      res.on("error", reject);
    });
    void (async () => {
      for (const p of pieces(bytes)) if (!req.write(p)) await new Promise((r) => req.once("drain", r));
      req.end(() => {
        ended = true;
        done();
      });
    })();
  });
}

/**
 * A raw TCP client that does not read at all until its last byte is written (the socket is paused: an answer waits
 * in the kernel, where a reset from the server destroys it), then reads the answer until the JSON body is complete.
 * `chunked` sends the body with Transfer-Encoding: chunked instead of a Content-Length.
 */
export function rawWriteFirst(url: string, headers: Record<string, string>, bytes: number, chunked = false): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    socket.pause();
    socket.on("error", reject);
    const write = (b: string | Buffer) => new Promise<void>((ok, fail) => socket.write(b, (e) => (e ? fail(e) : ok())));
    socket.on("connect", () => {
      void (async () => {
        const head = [`POST ${u.pathname} HTTP/1.1`, `host: ${u.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), chunked ? "transfer-encoding: chunked" : `content-length: ${bytes}`, "", ""].join("\r\n");
        await write(head);
        for (const p of pieces(bytes)) await write(chunked ? Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from("\r\n")]) : p);
        if (chunked) await write("0\r\n\r\n");
        let got = Buffer.alloc(0);
        socket.on("data", (d: Buffer) => {
          got = Buffer.concat([got, d]);
          const text = got.toString("utf8");
          const split = text.indexOf("\r\n\r\n");
          if (split < 0) return;
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, split));
          const body = text.slice(split + 4);
          if (length !== null && Buffer.byteLength(body) < Number(length[1])) return;
          if (length === null && !body.endsWith("0\r\n\r\n")) return; // chunked answer: wait for its last chunk
          socket.destroy();
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: length === null ? dechunk(body) : body });
        });
        socket.resume();
      })().catch(reject);
    });
  });
}

/** The payload of a chunked body (the answer's JSON, for the assertion). */
function dechunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const nl = rest.indexOf("\r\n");
    if (nl < 0) return out + rest;
    const n = parseInt(rest.slice(0, nl), 16);
    if (!Number.isFinite(n) || n === 0) return out;
    out += rest.slice(nl + 2, nl + 2 + n);
    rest = rest.slice(nl + 2 + n + 2);
  }
}
