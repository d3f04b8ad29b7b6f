/**
 * Serves a fetch-style handler (the Hono app) on Node's http module: the self-hosting path of `siglip serve`, with
 * no extra dependency. Request bodies stream into the handler, which enforces its own size cap; what the handler
 * leaves unread (an early 413, 415 or 401) is read and discarded before the answer is sent, within LINGER
 * (limits.ts), so clients that write the whole body before reading get the answer, Node's own http.request
 * included (after a complete early answer it stops writing and never finishes its request). Past LINGER's bounds the
 * answer goes out with `connection: close` and the socket is dropped.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { lingeringBody } from "../limits.ts";

export type FetchHandler = (req: Request) => Response | Promise<Response>;

function toRequest(req: IncomingMessage, origin: string): { request: Request; finish: () => Promise<boolean> } {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const method = req.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers };
  let finish = (): Promise<boolean> => Promise.resolve(true);
  if (method !== "GET" && method !== "HEAD") {
    const body = lingeringBody(Readable.toWeb(req) as ReadableStream<Uint8Array>);
    init.body = body.body;
    init.duplex = "half"; // required by undici for streamed request bodies
    finish = body.finish;
  }
  return { request: new Request(new URL(req.url ?? "/", origin), init), finish };
}

const INTERNAL = '{"error":{"message":"internal error","type":"server_error","param":null,"code":"internal_error"}}';

async function send(res: ServerResponse, response: Response, close: boolean): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, key) => res.setHeader(key, value));
  if (close) res.setHeader("connection", "close");
  if (response.body === null) {
    res.end();
    return;
  }
  for await (const chunk of response.body) res.write(chunk);
  res.end();
}

/** Starts listening; resolves with the server and its base URL once bound. */
export async function serveFetch(handler: FetchHandler, port: number, host = "127.0.0.1"): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? `${host}:${port}`}`;
    const { request, finish } = toRequest(req, origin);
    Promise.resolve()
      .then(() => handler(request))
      .catch(() => new Response(INTERNAL, { status: 500, headers: { "content-type": "application/json" } }))
      .then(async (r) => send(res, r, !(await finish())))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(INTERNAL);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const boundPort = typeof addr === "object" && addr !== null ? addr.port : port;
  return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}` };
}
