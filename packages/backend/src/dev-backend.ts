/**
 * `siglip backend`: serves bundles over the KServe v2 REST subset the edge API uses, on CPU with onnxruntime-node
 * (through @siglip-edge/runtime's engine). A stand-in for NVIDIA Triton in development and tests, not a replacement:
 * no dynamic batching, no GPU, no model control, no gRPC. Routes:
 * - `GET /v2/health/live`, `/v2/health/ready` (200, empty body, as Triton), `GET /v2` (server metadata);
 * - `GET /v2/models/{m}[/versions/{v}]` (metadata), `.../ready`, `POST .../infer` (JSON and binary extension);
 * - `POST /v2/repository/index` (Triton's repository extension: `[{name, version, state}]`).
 * Errors are the protocol's `{"error": "..."}` with 400 (bad request), 404 (unknown model or route) or 503 (not
 * ready), and 500 for an inference failure.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isSiglipError, SiglipError, type Tensor } from "@siglip-edge/core";
import { decodeInferRequest, encodeInferResponse, HEADER_LENGTH, type EngineSession, type InferenceEngine } from "@siglip-edge/runtime";
import { createNodeEngine } from "@siglip-edge/runtime/node";
import { towerModels, type BundleSpec, type TowerModel } from "./bundle-models.ts";
import { pixelGraph, PIXELS_OUTPUT } from "./pixel-graph.ts";

export const SERVER_NAME = "siglip-edge-dev-backend";
export const SERVER_VERSION = "0.1.0";
/** Only version of each model (Triton's default layout `<model>/1/model.onnx`). */
const VERSION = "1";

export interface DevBackendOptions {
  bundles: readonly BundleSpec[];
  /** Intra-op threads per session (default 1). */
  threads?: number;
  /** Largest infer body (default 256 MiB). */
  maxBodyBytes?: number;
  engine?: InferenceEngine;
}

export interface DevBackend {
  url: string;
  server: Server;
  models: readonly TowerModel[];
  /** Requests answered, by route kind (for tests and the bench). */
  counts: { infer: number; errors: number };
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json", "content-length": bytes.byteLength });
  res.end(bytes);
}

/**
 * The request body, at most `max` bytes. A larger one is read on to its end and discarded (up to 4 x `max`, then the
 * connection drops) before the 400, so a client that writes its whole body before reading gets the answer.
 */
async function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    total += c.byteLength;
    if (total > 4 * max) break; // leaving the loop destroys the request: the connection drops
    if (total <= max) chunks.push(c);
  }
  if (total > max) throw new HttpError(400, `request body is larger than ${max} bytes`);
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}

function metadata(m: TowerModel): unknown {
  // vision-u8 is two graphs in a row, as Triton serves it (an ensemble).
  return { name: m.name, versions: [VERSION], platform: m.tower === "vision-u8" ? "ensemble" : "onnxruntime_onnx", inputs: [m.input], outputs: [m.output] };
}

/** Checks an input tensor against the model contract (batch dimension free, the rest exact). */
function checkInput(m: TowerModel, inputs: Record<string, Tensor>): Tensor {
  const names = Object.keys(inputs);
  if (names.length !== 1 || names[0] !== m.input.name) throw new HttpError(400, `model ${m.name} takes one input "${m.input.name}", got ${names.map((n) => `"${n}"`).join(", ") || "none"}`);
  const t = inputs[m.input.name] as Tensor;
  const want = ({ FP32: "float32", INT64: "int64", UINT8: "uint8" } as const)[m.input.datatype as "FP32" | "INT64" | "UINT8"];
  if (t.dtype !== want) throw new HttpError(400, `input ${m.input.name}: datatype must be ${m.input.datatype}`);
  const okShape = t.dims.length === m.input.shape.length && m.input.shape.every((d, i) => (d === -1 ? (t.dims[i] ?? 0) >= 1 : t.dims[i] === d));
  if (!okShape) throw new HttpError(400, `input ${m.input.name}: shape [${t.dims.join(",")}] does not match [${m.input.shape.join(",")}]`);
  return t;
}

/** Starts the dev backend; resolves once every session is loaded and the server listens. */
export async function startDevBackend(o: DevBackendOptions, listen: { port?: number; host?: string } = {}): Promise<DevBackend> {
  const engine = o.engine ?? createNodeEngine();
  const models: TowerModel[] = [];
  for (const b of o.bundles) models.push(...(await towerModels(b)));
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name)) throw new SiglipError("INVALID_ARGUMENT", `two bundles serve model ${m.name}; give them different names`);
    seen.add(m.name);
  }
  const sessions = new Map<string, EngineSession>();
  const pixelSessions = new Map<string, EngineSession>();
  const byPath = new Map<string, EngineSession>(); // vision and vision-u8 share the vision session
  for (const m of models) {
    const path = `${m.dir}/${m.graph}`;
    let s = byPath.get(path);
    if (s === undefined) {
      s = await engine.createSession({ kind: "path", path }, { threads: o.threads ?? 1 });
      byPath.set(path, s);
    }
    sessions.set(m.name, s);
    if (m.tower === "vision-u8") pixelSessions.set(m.name, await engine.createSession({ kind: "bytes", graph: pixelGraph(m.input.shape[2] as number) }, { threads: 1 }));
  }
  const byName = new Map(models.map((m) => [m.name, m]));
  const maxBody = o.maxBodyBytes ?? 256 * 1024 * 1024;
  const counts = { infer: 0, errors: 0 };

  const model = (name: string, version: string | undefined): TowerModel => {
    const m = byName.get(name);
    if (m === undefined) throw new HttpError(404, `Request for unknown model: '${name}' is not found`);
    if (version !== undefined && version !== VERSION) throw new HttpError(404, `Request for unknown model: '${name}' version ${version} is not found`);
    return m;
  };

  async function infer(m: TowerModel, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, maxBody);
    const hl = req.headers[HEADER_LENGTH];
    let decoded: ReturnType<typeof decodeInferRequest>;
    try {
      decoded = decodeInferRequest(body, typeof hl === "string" ? hl : null);
    } catch (err) {
      throw new HttpError(400, isSiglipError(err) ? err.message : "malformed infer request");
    }
    const input = checkInput(m, decoded.inputs);
    for (const o of decoded.outputs ?? []) if (o !== m.output.name) throw new HttpError(400, `unexpected inference output '${o}' for model '${m.name}'`);
    const session = sessions.get(m.name) as EngineSession;
    const pre = pixelSessions.get(m.name);
    const feeds = pre === undefined ? { [m.input.name]: input } : { pixel_values: (await pre.run({ [m.input.name]: input }, [PIXELS_OUTPUT]))[PIXELS_OUTPUT] as Tensor };
    const out = await session.run(feeds, [m.output.name]);
    const t = out[m.output.name];
    if (t === undefined) throw new Error(`${m.graph} returned no ${m.output.name}`);
    const enc = encodeInferResponse({ model_name: m.name, model_version: VERSION, ...(decoded.id !== undefined ? { id: decoded.id } : {}) }, { [m.output.name]: t }, decoded.binaryFor);
    counts.infer++;
    res.writeHead(200, { ...enc.headers, "content-length": enc.body.byteLength });
    res.end(enc.body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://backend").pathname;
    const method = req.method ?? "GET";
    if (method === "GET" && (path === "/v2/health/live" || path === "/v2/health/ready")) {
      res.writeHead(200, { "content-length": 0 }).end();
      return;
    }
    if (method === "GET" && (path === "/v2" || path === "/v2/")) {
      sendJson(res, 200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: ["binary_tensor_data", "model_repository"] });
      return;
    }
    if (method === "POST" && path === "/v2/repository/index") {
      await readBody(req, 1 << 16);
      sendJson(res, 200, models.map((m) => ({ name: m.name, version: VERSION, state: "READY" })));
      return;
    }
    const mm = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
    if (mm !== null) {
      const m = model(decodeURIComponent(mm[1] as string), mm[2] === undefined ? undefined : decodeURIComponent(mm[2]));
      const action = mm[3];
      if (method === "GET" && action === undefined) return sendJson(res, 200, metadata(m));
      if (method === "GET" && action === "/ready") {
        res.writeHead(200, { "content-length": 0 }).end();
        return;
      }
      if (method === "POST" && action === "/infer") return infer(m, req, res);
    }
    throw new HttpError(404, `no route for ${method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      counts.errors++;
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : `inference failed: ${err instanceof Error ? err.message : String(err)}`;
      if (res.headersSent) return void res.destroy();
      sendJson(res, status, { error: message });
      req.resume(); // drain an unread body so the connection can be reused
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(listen.port ?? 0, listen.host ?? "127.0.0.1", () => ok());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  const host = listen.host ?? "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    server,
    models,
    counts,
    async close() {
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      for (const s of [...byPath.values(), ...pixelSessions.values()]) await s.release();
    },
  };
}
