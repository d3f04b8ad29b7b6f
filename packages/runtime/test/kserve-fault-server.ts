/**
 * A scripted KServe v2 server on 127.0.0.1 for fault injection: real HTTP, one behaviour per request chosen by the
 * test (good answers, 500/503, garbage, truncated bodies and binary sections, wrong shapes and dtypes, stalls).
 * Every socket is tracked so `close()` ends stalled exchanges too: no test leaves a connection open.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tensor } from "@siglip-edge/core";
import { encodeInferResponse } from "../src/kserve/codec.ts";

export type Fault =
  | "ok"
  | "500"
  | "503"
  | "400"
  | "garbage"
  | "bad-json-header"
  | "cut-body"
  | "truncated-binary"
  | "wrong-shape"
  | "wrong-dtype"
  | "stall-headers"
  | "stall-body"
  | "hold";

export interface FaultServer {
  url: string;
  /** Requests received (all routes). */
  requests: number;
  /** The behaviour for the next requests (a function may vary it per request). */
  fault: Fault | ((n: number) => Fault);
  /** Output width D of good answers: `pooler_output` FP32 [B, D] filled with b + 0.5. */
  dim: number;
  /** Releases requests held by `hold`. */
  release(): void;
  close(): Promise<void>;
}

function batchOf(body: Buffer, hl: string | undefined): number {
  const json = JSON.parse(body.subarray(0, hl === undefined ? body.byteLength : Number(hl)).toString("utf8")) as { inputs: { shape: number[] }[] };
  return json.inputs[0]?.shape[0] ?? 1;
}

function good(B: number, D: number, dtype: "float32" | "float16" = "float32", width = D): Uint8Array[] {
  const data = new Float32Array(B * width);
  for (let b = 0; b < B; b++) data.fill(b + 0.5, b * width, (b + 1) * width);
  const t = dtype === "float32" ? tensor("float32", [B, width], data) : tensor("float16", [B, width], new Uint16Array(B * width));
  const e = encodeInferResponse({ model_name: "m", model_version: "1" }, { pooler_output: t }, () => true);
  return [e.body, new TextEncoder().encode(e.headers["inference-header-content-length"] ?? "")];
}

export async function startFaultServer(): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  const state: FaultServer = {
    url: "",
    requests: 0,
    fault: "ok",
    dim: 4,
    release: () => {
      for (const h of held.splice(0)) h();
    },
    close: async () => undefined,
  };

  const answer = (res: ServerResponse, B: number, f: Fault): void => {
    const send = (status: number, body: string | Uint8Array, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-length": String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength), ...headers });
      res.end(body);
    };
    const bin = (parts: Uint8Array[]) => send(200, parts[0] as Uint8Array, { "content-type": "application/octet-stream", "inference-header-content-length": new TextDecoder().decode(parts[1]) });
    switch (f) {
      case "ok":
        return bin(good(B, state.dim));
      case "500":
        return send(500, '{"error":"model crashed"}', { "content-type": "application/json" });
      case "503":
        return send(503, '{"error":"model not ready"}', { "content-type": "application/json", "retry-after": "0" });
      case "400":
        return send(400, '{"error":"unexpected inference input"}', { "content-type": "application/json" });
      case "garbage":
        return send(200, "<html>502 from some proxy</html>");
      case "bad-json-header":
        return send(200, '{"model_name":"m","outputs":[{"name":"pooler_output"', { "inference-header-content-length": "10" });
      case "cut-body": {
        const [body] = good(B, state.dim) as [Uint8Array, Uint8Array];
        res.writeHead(200, { "content-length": String(body.byteLength) });
        res.write(body.subarray(0, body.byteLength >> 1));
        setImmediate(() => res.socket?.destroy()); // the connection drops mid-body
        return;
      }
      case "truncated-binary": {
        const [body, hl] = good(B, state.dim) as [Uint8Array, Uint8Array];
        return send(200, body.subarray(0, body.byteLength - 4), { "inference-header-content-length": new TextDecoder().decode(hl) });
      }
      case "wrong-shape":
        return bin(good(B, state.dim, "float32", state.dim + 1));
      case "wrong-dtype":
        return bin(good(B, state.dim, "float16"));
      case "stall-headers":
        return; // never answers; the client's timeouts end it
      case "stall-body":
        res.writeHead(200, { "content-length": "1000" });
        res.write("{");
        return;
      case "hold":
        held.push(() => bin(good(B, state.dim)));
        return;
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = state.requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const f = typeof state.fault === "function" ? state.fault(n) : state.fault;
      const path = req.url ?? "/";
      if (req.method === "GET" && path.startsWith("/v2/health")) {
        if (f === "ok") return void res.writeHead(200, { "content-length": "0" }).end();
        return answer(res, 1, f);
      }
      const hl = req.headers["inference-header-content-length"];
      let B = 1;
      try {
        B = batchOf(Buffer.concat(chunks), typeof hl === "string" ? hl : undefined);
      } catch {
        return void res.writeHead(400).end('{"error":"bad request"}');
      }
      answer(res, B, f);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  const a = server.address();
  state.url = `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`;
  state.close = () =>
    new Promise<void>((ok) => {
      held.length = 0;
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    });
  return state;
}

/** A URL on 127.0.0.1 where nothing listens (a port bound, then released). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", () => ok()));
  const a = s.address();
  const port = typeof a === "object" && a !== null ? a.port : 0;
  await new Promise<void>((ok) => s.close(() => ok()));
  return `http://127.0.0.1:${port}`;
}
