/**
 * The edge API on Node with a model routed to a KServe v2 backend (the dev backend, real HTTP on 127.0.0.1) next to
 * the same bundle served locally: same API and response shape, embeddings and classification equal to the local run
 * (cosine >= 0.99999), and backend faults mapped to 502 / 503 / 504 with Retry-After, quickly.
 */
import { createServer, type Server } from "node:http";
import { cosine } from "@siglip-edge/core";
import { startDevBackend, type DevBackend } from "@siglip-edge/backend";
import { fsBundleSource } from "@siglip-edge/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { parseBackendRoutes, routedProvider, servedBy, withBackendRouting } from "../../src/backend-routing.ts";
import { DEFAULT_CONFIG } from "../../src/config.ts";
import { localModelProvider } from "../../src/node/models.ts";
import { serveFetch } from "../../src/node/server.ts";
import { dataUri, photo, TINY_ID, tinyBundle } from "./fixtures.ts";

const GPU_ID = "siglip-edge/tiny-fixres@gpu";
let dir = "";
let backend: DevBackend;
let api: { server: Server; url: string };
let faulty: Server;
let faultyUrl = "";
let faultMode: "garbage" | "stall" = "garbage";

function routesJson(urls: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    backends: Object.fromEntries(Object.entries(urls).map(([k, url]) => [k, { url, retries: 1, ...(k.startsWith("gpu") ? { deadlineMs: 20000, connectTimeoutMs: 15000 } : { deadlineMs: 1500, connectTimeoutMs: 1000, readTimeoutMs: 500 }), ...(k === "gpu8" ? { pixels: "uint8" } : {}), ...extra }])),
    models: Object.keys(urls).map((k) => ({ id: k === "gpu" ? GPU_ID : `tiny@${k}`, backend: k, name: "tiny-fixres", bundle: dir, foldTokenIds: true })),
  });
}

function makeProvider(vars: Record<string, string>) {
  return routedProvider(localModelProvider([{ dir, id: TINY_ID, foldTokenIds: true }]), parseBackendRoutes(vars), vars, { source: fsBundleSource });
}

beforeAll(async () => {
  dir = await tinyBundle();
  backend = await startDevBackend({ bundles: [{ dir }] });
  faulty = createServer((req, res) => {
    req.resume();
    if (faultMode === "garbage") res.writeHead(200, { "content-type": "text/html" }).end("<html>oops</html>");
    // "stall": never answers; the client's deadline ends the call, closeAllConnections() ends the socket
  });
  await new Promise<void>((r) => faulty.listen(0, "127.0.0.1", () => r()));
  const a = faulty.address();
  faultyUrl = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  const vars = { MODEL_BACKENDS: routesJson({ gpu: backend.url, gpu8: backend.url, broken: faultyUrl, down: "http://127.0.0.1:9" }) };
  const app = withBackendRouting(createApp({ config: { ...DEFAULT_CONFIG, maxConcurrent: 4 }, models: makeProvider(vars) }));
  api = await serveFetch((req) => app.fetch(req), 0);
});
afterAll(async () => {
  await new Promise<void>((r) => api?.server.close(() => r()));
  faulty?.closeAllConnections();
  await new Promise<void>((r) => faulty?.close(() => r()));
  await backend?.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${api.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers, ms: performance.now() - t0 };
}

type Emb = { data: { embedding: number[]; index: number }[]; model: string; usage: { prompt_tokens: number; images: number } };

describe("a backend-routed model through the edge API", () => {
  it("is listed next to the local one, with where it runs", async () => {
    const j = (await (await fetch(`${api.url}/v1/models`)).json()) as { data: { id: string; runs_on: string; revision: string }[] };
    const byId = Object.fromEntries(j.data.map((m) => [m.id, m]));
    expect(byId[TINY_ID]?.runs_on).toMatch(/^node: onnxruntime-node/);
    expect(byId[GPU_ID]?.runs_on).toBe("backend: KServe v2 at gpu (tiny-fixres)");
    expect(byId[GPU_ID]?.revision).toBe(byId[TINY_ID]?.revision); // same weights, same label-cache keys
    const p = makeProvider({ MODEL_BACKENDS: routesJson({ gpu: backend.url }) });
    expect(servedBy((await p.get(GPU_ID)).card)).toBe("backend:gpu");
    expect(servedBy((await p.get(TINY_ID)).card)).toBe("edge");
  });

  it("embeddings (texts and images) equal the local run: same shape, cosine >= 0.99999", async () => {
    const input = [{ type: "text", text: "a photo of a cat" }, { type: "image_url", image_url: dataUri(photo("skimage/chelsea.png")) }, { type: "text", text: "coins" }, { type: "image_url", image_url: dataUri(photo("skimage/coins.png")) }];
    const a = await post("/v1/embeddings", { model: TINY_ID, input });
    const b = await post("/v1/embeddings", { model: GPU_ID, input });
    expect([a.status, b.status]).toEqual([200, 200]);
    const ja = a.json as unknown as Emb;
    const jb = b.json as unknown as Emb;
    expect(Object.keys(jb).sort()).toEqual(Object.keys(ja).sort());
    expect(jb.usage).toEqual(ja.usage);
    expect(jb.model).toBe(GPU_ID);
    expect([a.headers.get("x-siglip-backend"), b.headers.get("x-siglip-backend")]).toEqual(["edge", "backend:gpu"]);
    const cos = ja.data.map((d, i) => cosine(d.embedding, jb.data[i]?.embedding ?? []));
    console.log(`edge API, backend vs local embeddings: cosines ${cos.map((c) => c.toFixed(7)).join(" ")}`);
    for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.99999);
  });

  it("a backend set to uint8 pixels answers with exactly the same numbers", async () => {
    const input = [{ type: "image_url", image_url: dataUri(photo("skimage/astronaut.png")) }, { type: "text", text: "an astronaut" }];
    const a = (await post("/v1/embeddings", { model: GPU_ID, input })).json as unknown as Emb;
    const b = await post("/v1/embeddings", { model: "tiny@gpu8", input });
    expect(b.headers.get("x-siglip-backend")).toBe("backend:gpu8");
    expect((b.json as unknown as Emb).data.map((d) => d.embedding)).toEqual(a.data.map((d) => d.embedding));
  });

  it("classification equals the local run", async () => {
    const body = (model: string) => ({ model, images: [dataUri(photo("skimage/chelsea.png")), dataUri(photo("skimage/astronaut.png"))], labels: ["cat", "astronaut", "coins", `a label with ,"model":"tiny@down" inside`] });
    const a = (await post("/v1/classify", body(TINY_ID))).json as { data: { scores: { label: string; score: number }[] }[] };
    const rb = await post("/v1/classify", body(GPU_ID));
    expect(rb.headers.get("x-siglip-backend")).toBe("backend:gpu");
    const b = rb.json as typeof a;
    for (let i = 0; i < 2; i++) {
      const sa = Object.fromEntries((a.data[i]?.scores ?? []).map((s) => [s.label, s.score]));
      for (const s of b.data[i]?.scores ?? []) expect(Math.abs(s.score - (sa[s.label] ?? NaN))).toBeLessThan(1e-6);
    }
  });
});

describe("backend faults through the edge API", () => {
  it("backend down: 503 with Retry-After, in the API's error envelope", async () => {
    const r = await post("/v1/embeddings", { model: "tiny@down", input: "hello" });
    console.log(`down: HTTP ${r.status} in ${r.ms.toFixed(0)} ms`);
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(r.json).toEqual({ error: { message: "the model backend is not available right now", type: "server_error", param: null, code: "backend_unavailable" } });
  });

  it("garbage from the backend: 502, never passed on", async () => {
    faultMode = "garbage";
    const r = await post("/v1/embeddings", { model: "tiny@broken", input: [{ type: "text", text: "x" }, { type: "image_url", image_url: dataUri(photo("skimage/coins.png")) }] });
    expect(r.status).toBe(502);
    expect((r.json as { error: { code: string } }).error.code).toBe("backend_bad_response");
  });

  it("a backend slower than the deadline: 504 with Retry-After", async () => {
    faultMode = "stall";
    const r = await post("/v1/embeddings", { model: "tiny@broken", input: "slow" });
    console.log(`stall: HTTP ${r.status} in ${r.ms.toFixed(0)} ms (connect timeout 1000 ms, deadline 1500 ms)`);
    expect(r.status).toBe(504);
    expect(r.headers.get("retry-after")).toBe("1");
    faulty.closeAllConnections();
  });

  it("a malformed routing table is refused at startup with a clear message", () => {
    expect(() => parseBackendRoutes({ MODEL_BACKENDS: '{"backends": {"gpu": {"url": "ftp://x"}}, "models": []}' })).toThrow(/http\(s\) url/);
    expect(() => parseBackendRoutes({ MODEL_BACKENDS: '{"backends": {}, "models": [{"id": "a", "backend": "gpu", "name": "a", "bundle": "a/"}]}' })).toThrow(/not in backends/);
    expect(parseBackendRoutes({})).toEqual({ backends: {}, models: [] });
  });
});
