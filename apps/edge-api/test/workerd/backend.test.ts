/**
 * The edge API inside real workerd with a model routed to the KServe v2 dev backend (Node, real HTTP on 127.0.0.1):
 * embeddings and classification equal the same bundle run in the Worker itself (onnxruntime-web from R2), cosine >=
 * 0.99999, and a dead backend gives 503 with Retry-After; the production Worker routes by its MODEL_BACKENDS variable.
 * backend-global-setup.ts (workerd project's globalSetup) starts the backend. workerd itself logs "uncaught exception: Network
 * connection lost" for any fetch to a closed port, even one whose rejection is handled (a plain `fetch().catch()`
 * does it too), so that line in the dead-backend case is not ours.
 */
import { env } from "cloudflare:test";
import { cosine } from "@siglip-edge/core";
import { r2BundleSource, type R2BucketLike } from "@siglip-edge/runtime";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { parseBackendRoutes, routedProvider, withBackendRouting } from "../../src/backend-routing.ts";
import { DEFAULT_CONFIG } from "../../src/config.ts";
import worker from "../../src/worker.ts";
import type { WorkerEnv } from "../../src/worker-env.ts";

const backendUrl = inject("kserveBackendUrl") as string | undefined;
const origin = inject("fixtureOrigin");
const MODEL = "siglip-edge/tiny-fixres";
const GPU = "siglip-edge/tiny-fixres@gpu";
let coinsUri = "";

describe("workerd: a model routed to a KServe v2 backend", () => {
  let app: ReturnType<typeof withBackendRouting>;
  let routes = "";

  beforeAll(async () => {
    expect(backendUrl, "backend-global-setup.ts must be in the workerd project's globalSetup").toBeDefined();
    const bucket = env["MODELS"] as R2BucketLike & { put(key: string, value: ArrayBuffer): Promise<unknown> };
    for (const f of inject("bundleFiles")) await bucket.put(`tiny-fixres/${f}`, await (await fetch(`${origin}/bundle/${f}`)).arrayBuffer());
    const png = new Uint8Array(await (await fetch(`${origin}/photos/skimage/coins.png`)).arrayBuffer());
    let bin = "";
    for (const b of png) bin += String.fromCharCode(b);
    coinsUri = `data:image/png;base64,${btoa(bin)}`;
    const vars = {
      MODEL_BACKENDS: JSON.stringify({
        backends: { gpu: { url: backendUrl, deadlineMs: 20000, connectTimeoutMs: 15000, retries: 1 }, down: { url: "http://127.0.0.1:9", retries: 0 } },
        models: [
          { id: GPU, backend: "gpu", name: "tiny-fixres", bundle: "tiny-fixres/", foldTokenIds: true },
          { id: "tiny@down", backend: "down", name: "tiny-fixres", bundle: "tiny-fixres/", foldTokenIds: true },
        ],
      }),
    };
    routes = vars.MODEL_BACKENDS;
    const local = { list: async () => [], get: () => Promise.reject(new Error("no local models in this app")) };
    app = withBackendRouting(createApp({ config: DEFAULT_CONFIG, models: routedProvider(local, parseBackendRoutes(vars), vars, { source: (p) => r2BundleSource(bucket, p) }) }));
  });

  const post = (path: string, body: unknown) => new Request(`https://api.test${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("embeddings equal the Worker's own run of the bundle (cosine >= 0.99999)", async () => {
    const input = [{ type: "text", text: "a photo of a cat" }, { type: "image_url", image_url: { url: coinsUri } }];
    const local = (await (await worker.fetch(post("/v1/embeddings", { model: MODEL, input }), env as WorkerEnv)).json()) as { data: { embedding: number[] }[] };
    const res = await app.fetch(post("/v1/embeddings", { model: GPU, input }));
    expect(res.status).toBe(200);
    const remote = (await res.json()) as typeof local & { model: string };
    expect(remote.model).toBe(GPU);
    expect(res.headers.get("x-siglip-backend")).toBe("backend:gpu");
    const cos = local.data.map((d, i) => cosine(d.embedding, remote.data[i]?.embedding ?? []));
    console.log(`workerd, backend vs Worker-local embeddings: cosines ${cos.map((c) => c.toFixed(7)).join(" ")}`);
    for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.99999);
  });

  it("classification equals the Worker's own run", async () => {
    const body = (model: string) => ({ model, images: [coinsUri], labels: ["coins", "a cat"] });
    const a = (await (await worker.fetch(post("/v1/classify", body(MODEL)), env as WorkerEnv)).json()) as { data: { scores: { label: string; score: number }[] }[] };
    const b = (await (await app.fetch(post("/v1/classify", body(GPU)))).json()) as typeof a;
    const sa = Object.fromEntries((a.data[0]?.scores ?? []).map((s) => [s.label, s.score]));
    for (const s of b.data[0]?.scores ?? []) expect(Math.abs(s.score - (sa[s.label] ?? NaN))).toBeLessThan(1e-6);
  });

  it("the production Worker routes MODEL_BACKENDS models to the backend and keeps the rest at the edge", async () => {
    const routedEnv = { ...(env as WorkerEnv), MODEL_BACKENDS: routes };
    const input = ["a photo of a cat"];
    const viaBackend = await worker.fetch(post("/v1/embeddings", { model: GPU, input }), routedEnv);
    expect(viaBackend.status).toBe(200);
    expect(viaBackend.headers.get("x-siglip-backend")).toBe("backend:gpu");
    const atEdge = await worker.fetch(post("/v1/embeddings", { model: MODEL, input }), routedEnv);
    expect(atEdge.status).toBe(200);
    expect(atEdge.headers.get("x-siglip-backend")).toBe("edge");
    const [a, b] = [(await viaBackend.json()) as { data: { embedding: number[] }[] }, (await atEdge.json()) as { data: { embedding: number[] }[] }];
    expect(cosine(a.data[0]?.embedding ?? [], b.data[0]?.embedding ?? [])).toBeGreaterThanOrEqual(0.99999);
    const models = (await (await worker.fetch(new Request("https://api.test/v1/models"), routedEnv)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining([MODEL, GPU]));
  });

  it("a dead backend: 503 with Retry-After", async () => {
    const res = await app.fetch(post("/v1/embeddings", { model: "tiny@down", input: "x" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("backend_unavailable");
  });
});
