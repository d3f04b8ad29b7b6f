/**
 * The Worker inside real workerd (@cloudflare/vitest-plugin): onnxruntime-web from the CompiledWasm import, the tiny
 * bundle in the local R2 bucket, every endpoint, every error status, auth on and off, SSRF refusals, and parity with
 * the Node reference (`openModel` on onnxruntime-node, the factory `siglip embed` runs).
 */
import { env } from "cloudflare:test";
import { cosine, l2Normalize } from "@siglip-edge/core";
import { beforeAll, describe, expect, inject, it } from "vitest";
import worker from "../../src/worker.ts";
import type { WorkerEnv } from "../../src/worker-env.ts";

const origin = inject("fixtureOrigin");
const ref = inject("reference");
const MODEL = "siglip-edge/tiny-fixres";
let keyHash = ""; // sha256("sk-edge-test"), computed in beforeAll
let coinsUri = "";

beforeAll(async () => {
  const bucket = env["MODELS"] as { put(key: string, value: ArrayBuffer): Promise<unknown> };
  for (const f of inject("bundleFiles")) {
    const res = await fetch(`${origin}/bundle/${f}`);
    expect(res.status).toBe(200);
    await bucket.put(`tiny-fixres/${f}`, await res.arrayBuffer());
  }
  const png = new Uint8Array(await (await fetch(`${origin}/photos/skimage/coins.png`)).arrayBuffer());
  let bin = "";
  for (const b of png) bin += String.fromCharCode(b);
  coinsUri = `data:image/png;base64,${btoa(bin)}`;
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("sk-edge-test"));
  keyHash = [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
});

async function call(path: string, init: RequestInit & { json?: unknown } = {}, vars: Record<string, string> = {}) {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const req = new Request(`https://api.test${path}`, { ...init, headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json), method: "POST" } : {}) });
  const res = await worker.fetch(req, { ...(env as WorkerEnv), ...vars });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text.startsWith("{") ? JSON.parse(text) : { text }) as Record<string, unknown> & { data: Record<string, unknown>[]; error: Record<string, unknown> } };
}

const imagePart = (url: string) => ({ type: "image_url", image_url: { url } });

describe("Worker in workerd: endpoints", () => {
  it("GET /healthz, /v1/models, /openapi.json, /docs", async () => {
    const h = await call("/healthz");
    expect(h.status).toBe(200);
    expect(h.headers.get("x-request-id")).toMatch(/^req_/);
    const m = await call("/v1/models");
    expect(m.json.data[0]).toMatchObject({ id: MODEL, family: "fixres", runs_on: "workerd: onnxruntime-web (wasm, 1 thread)" });
    expect(Object.keys((await call("/openapi.json")).json["paths"] as object)).toContain("/v1/classify");
    expect((await call("/docs")).json["text"]).toContain("siglip-edge API");
  });

  it("POST /v1/embeddings equals the Node reference (cosine >= 0.99999); base64 decodes to the same floats", async () => {
    const r = await call("/v1/embeddings", { json: { model: MODEL, input: [...ref.texts.map((text) => ({ type: "text", text })), imagePart(coinsUri)] } });
    expect(r.status).toBe(200);
    const vecs = r.json.data.map((d) => d["embedding"] as number[]);
    const refs = [...ref.textEmbeddings, ref.imageEmbedding].map((v) => l2Normalize(v));
    vecs.forEach((v, i) => {
      const c = cosine(v, refs[i] as Float32Array);
      console.log(`workerd vs Node input ${i}: cosine ${c.toFixed(8)}`);
      expect(c).toBeGreaterThanOrEqual(0.99999);
    });
    const b = await call("/v1/embeddings", { json: { model: MODEL, input: ref.texts, encoding_format: "base64" } });
    b.json.data.forEach((d, i) => {
      const bin = atob(d["embedding"] as string);
      const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
      expect(Array.from(new Float32Array(bytes.buffer))).toEqual(vecs[i]);
    });
  });

  it("a JPEG (WebAssembly decoder from a CompiledWasm import) equals the Node reference", async () => {
    const r = await call("/v1/embeddings", { json: { model: MODEL, input: [imagePart(`${origin}/photos/matplotlib/grace_hopper.jpg`)] } });
    expect(r.status).toBe(200);
    const c = cosine(r.json.data[0]?.["embedding"] as number[], ref.jpegEmbedding);
    console.log(`workerd vs Node, JPEG: cosine ${c.toFixed(8)}`);
    expect(c).toBeGreaterThanOrEqual(0.99999);
  });

  it("an image by URL (allow-listed 127.0.0.1 test host) equals the same image as a data URI", async () => {
    const byUri = await call("/v1/embeddings", { json: { model: MODEL, input: [imagePart(coinsUri)] } });
    const byUrl = await call("/v1/embeddings", { json: { model: MODEL, input: [imagePart(`${origin}/photos/skimage/coins.png`)] } });
    expect(byUrl.status).toBe(200);
    expect(byUrl.json.data[0]?.["embedding"]).toEqual(byUri.json.data[0]?.["embedding"]);
  });

  it("POST /v1/classify: sorted sigmoid scores, multilingual labels", async () => {
    const r = await call("/v1/classify", { json: { model: MODEL, images: [coinsUri], labels: ["coins", "Münzen", "硬币"], templates: ["a photo of {}.", "{}"] } });
    expect(r.status).toBe(200);
    const scores = r.json.data[0]?.["scores"] as { label: string; score: number }[];
    expect(scores).toHaveLength(3);
    for (const s of scores) expect(s.score).toBeGreaterThan(0);
    for (let i = 1; i < scores.length; i++) expect(scores[i - 1]!.score).toBeGreaterThanOrEqual(scores[i]!.score);
    const again = await call("/v1/classify", { json: { model: MODEL, images: [coinsUri], labels: ["coins", "Münzen", "硬币"], templates: ["a photo of {}.", "{}"] } });
    expect(again.json.data).toEqual(r.json.data); // second time from the label cache
  });
});

describe("Worker in workerd: B/16 layout with tower roles", () => {
  it("ROLE=api calls text and vision role Workers (service-binding shaped) and returns the same embeddings", async () => {
    const roleEnv = (role: string) => ({ ...(env as WorkerEnv), ROLE: role });
    const binding = (role: string) => ({ fetch: (req: Request) => worker.fetch(req, roleEnv(role)) });
    const split = { ROLE: "api", TEXT_TOWER: binding("text"), VISION_TOWER: binding("vision") } as unknown as Record<string, string>;
    const input = [{ type: "text", text: ref.texts[0] }, imagePart(coinsUri)];
    const one = await call("/v1/embeddings", { json: { model: MODEL, input } });
    const viaRoles = await call("/v1/embeddings", { json: { model: MODEL, input } }, split);
    expect(viaRoles.status).toBe(200);
    expect(viaRoles.json.data).toEqual(one.json.data);
    // One bundle, one answer: the Worker and its tower Workers give the Node reference vectors (onnxruntime-web here,
    // onnxruntime-node there), cosine 1.0 at six decimals; apps/cli's one-factory test ties the Node paths together.
    const want = [ref.textEmbeddings[0] as number[], ref.imageEmbedding];
    viaRoles.json.data.forEach((d, i) => expect(Math.abs(1 - cosine(d["embedding"] as number[], want[i] as number[]))).toBeLessThan(1e-6));
    const m = await call("/v1/models", {}, split);
    expect((m.json.data[0]?.["runs_on"] as string)).toContain("towers in separate Workers");
    const bad = await call("/v1/embeddings", { json: { model: MODEL, input: [imagePart("data:image/png;base64,iVBORw0KGgoAAAAA")] } }, split);
    expect(bad.status).toBe(422);
    // Tower roles expose nothing but their internal endpoints.
    expect((await worker.fetch(new Request("https://t/v1/models"), roleEnv("text"))).status).toBe(404);
  });

  it("ROLE=api sends at most 4 images and 16 texts per tower call, in order", async () => {
    const calls: string[] = [];
    const binding = (role: string) => ({
      fetch: (req: Request) => {
        calls.push(`${role}:${new URL(req.url).pathname}:${req.headers.get("x-siglip-dims") ?? "json"}`);
        return worker.fetch(req, { ...(env as WorkerEnv), ROLE: role });
      },
    });
    // The isolate keeps one API per configuration; the same bundles spelt differently make this one new (with these bindings).
    const bundles = JSON.stringify(JSON.parse((env as WorkerEnv).MODEL_BUNDLES ?? "[]"), null, 1);
    const split = { ROLE: "api", MODEL_BUNDLES: bundles, TEXT_TOWER: binding("text"), VISION_TOWER: binding("vision") } as unknown as Record<string, string>;
    const texts = Array.from({ length: 17 }, (_, i) => `text number ${i}`);
    const images = [coinsUri, `${origin}/photos/matplotlib/grace_hopper.jpg`, coinsUri, coinsUri, `${origin}/photos/matplotlib/grace_hopper.jpg`];
    const input = [...texts.map((text) => ({ type: "text", text })), ...images.map(imagePart)];
    const one = await call("/v1/embeddings", { json: { model: MODEL, input } });
    const viaRoles = await call("/v1/embeddings", { json: { model: MODEL, input } }, split);
    expect(viaRoles.status).toBe(200);
    expect(viaRoles.json.data).toEqual(one.json.data);
    expect(viaRoles.json["usage"]).toEqual(one.json["usage"]);
    expect(calls.sort()).toEqual(["text:/internal/embed-text:1,64", "text:/internal/embed-text:16,64", "vision:/internal/embed-pixels:1,48,48,3", "vision:/internal/embed-pixels:4,48,48,3"]);
  });
});

describe("Worker in workerd: B/16 layout with each tower in two stage Workers", () => {
  it("ROLE=api chains stage 0 and stage 1 of each tower and returns the unsplit embeddings", async () => {
    const stageEnv = (role: string, stage: string) => ({ ...(env as WorkerEnv), ROLE: role, STAGE: stage });
    const calls: string[] = [];
    const binding = (role: string, stage: string) => ({
      fetch: (req: Request) => {
        calls.push(`${role}${stage}:${new URL(req.url).pathname}`);
        return worker.fetch(req, stageEnv(role, stage));
      },
    });
    const staged = { ROLE: "api", TEXT_TOWER: binding("text", "0"), TEXT_TOWER_1: binding("text", "1"), VISION_TOWER: binding("vision", "0"), VISION_TOWER_1: binding("vision", "1") } as unknown as Record<string, string>;
    const input = [{ type: "text", text: ref.texts[0] }, imagePart(coinsUri)];
    const one = await call("/v1/embeddings", { json: { model: MODEL, input } });
    const viaStages = await call("/v1/embeddings", { json: { model: MODEL, input } }, staged);
    expect(viaStages.status).toBe(200);
    // The API decodes and resizes: stage 0 of the vision tower receives S x S uint8 pixels.
    expect(calls.sort()).toEqual(["text0:/internal/embed-text", "text1:/internal/stage", "vision0:/internal/embed-pixels", "vision1:/internal/stage"]);
    for (let i = 0; i < 2; i++) {
      const a = one.json.data[i]?.["embedding"] as number[];
      const b = viaStages.json.data[i]?.["embedding"] as number[];
      const c = cosine(a, b);
      const diff = Math.max(...a.map((x, j) => Math.abs(x - (b[j] as number))));
      console.log(`staged vs unsplit, input ${i}: cosine ${c.toFixed(8)}, max |diff| ${diff.toExponential(2)}`);
      expect(c).toBeGreaterThanOrEqual(0.99999);
    }
    expect(viaStages.json["usage"]).toEqual(one.json["usage"]);
    // Only stage 0 binding: the chain is incomplete and says so (5xx, no internals leaked).
    const broken = await call("/v1/embeddings", { json: { model: MODEL, input: [imagePart(coinsUri)] } }, { ...staged, VISION_TOWER_1: undefined } as unknown as Record<string, string>);
    expect(broken.status).toBeGreaterThanOrEqual(500);
    // A stage Worker refuses whole-tower work and malformed hidden states with typed errors.
    const stage1 = (dims: string, bytes: number) =>
      worker.fetch(new Request("https://t/internal/stage", { method: "POST", headers: { "content-type": "application/x-siglip-hidden", "x-siglip-model": MODEL, "x-siglip-tower": "vision", "x-siglip-dims": dims }, body: new Uint8Array(bytes) }), stageEnv("vision", "1"));
    for (const [dims, bytes] of [["1,2,3", 24], ["1,2,3", 20], ["1,2,3", 28], ["1,2", 8], ["a,b,c", 4], ["4096,4096,4096", 4]] as const) {
      const bad = await stage1(dims, bytes); // wrong width for this tower, or a header that does not match the body
      expect(bad.status).toBe(500);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("INVALID_ARGUMENT");
    }
    // Hidden states come from a reused buffer: a response read after the next request ran still holds its own bytes.
    const rgb = (v: number) => new Uint8Array(48 * 48 * 3).fill(v);
    const stage0 = (v: number) =>
      worker.fetch(new Request("https://t/internal/embed-pixels", { method: "POST", headers: { "content-type": "application/x-siglip-rgb", "x-siglip-model": MODEL, "x-siglip-dims": "1,48,48,3" }, body: rgb(v) }), stageEnv("vision", "0"));
    const alone = [new Uint8Array(await (await stage0(10)).arrayBuffer()), new Uint8Array(await (await stage0(200)).arrayBuffer())];
    const first = await stage0(10);
    const second = await stage0(200);
    const late = [new Uint8Array(await first.arrayBuffer()), new Uint8Array(await second.arrayBuffer())];
    expect(late[0]).toEqual(alone[0]);
    expect(late[1]).toEqual(alone[1]);
    expect(alone[0]).not.toEqual(alone[1]);
    // Pixels whose size is not the model's, or whose header does not match the body: typed refusals too.
    const pixels = (dims: string, bytes: number, type = "application/x-siglip-rgb") =>
      worker.fetch(new Request("https://t/internal/embed-pixels", { method: "POST", headers: { "content-type": type, "x-siglip-model": MODEL, "x-siglip-dims": dims }, body: new Uint8Array(bytes) }), stageEnv("vision", "0"));
    for (const [dims, bytes, type] of [["1,8,8,3", 192, undefined], ["1,2,2,3", 11, undefined], ["1,2,2,4", 16, undefined], ["1,2,2,3", 12, "application/json"]] as const) {
      const bad = await pixels(dims, bytes, type);
      expect(bad.status).toBe(500);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("INVALID_ARGUMENT");
    }
    const stagePixels = (stage: string) =>
      worker.fetch(new Request("https://t/internal/embed-pixels", { method: "POST", headers: { "content-type": "application/x-siglip-rgb", "x-siglip-model": MODEL, "x-siglip-dims": "1,48,48,3" }, body: rgb(7) }), stageEnv("vision", stage));
    const wrongStage = await stagePixels("1");
    expect(((await wrongStage.json()) as { error: { code: string } }).error.code).toBe("INVALID_ARGUMENT");
    const badStage = await stagePixels("x");
    expect(badStage.status).toBe(500);
    // Ids: int32 [B, T] only, with the header's shape.
    const ids = (dims: string, bytes: number, type = "application/x-siglip-ids") =>
      worker.fetch(new Request("https://t/internal/embed-text", { method: "POST", headers: { "content-type": type, "x-siglip-model": MODEL, "x-siglip-dims": dims }, body: new Uint8Array(bytes) }), stageEnv("text", "0"));
    for (const [dims, bytes, type] of [["1,64", 255, undefined], ["1,64,1", 256, undefined], ["1,64", 256, "application/json"], ["1,63", 252, undefined]] as const) {
      const bad = await ids(dims, bytes, type);
      expect(bad.status, dims).toBe(500);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("Worker in workerd: tower roles take one request at a time", () => {
  it("queues up to 64 requests behind the one running and sheds the rest with 503 + Retry-After", async () => {
    const vision = { ...(env as WorkerEnv), ROLE: "vision" };
    const pixels = new Uint8Array(48 * 48 * 3).fill(90);
    const req = () =>
      worker.fetch(new Request("https://t/internal/embed-pixels", { method: "POST", headers: { "content-type": "application/x-siglip-rgb", "x-siglip-model": MODEL, "x-siglip-dims": "1,48,48,3" }, body: pixels }), vision);
    // All 66 are issued before the first finishes: 1 runs, 64 wait, the 66th is shed.
    const answers = await Promise.all(Array.from({ length: 66 }, req));
    const statuses = answers.map((r) => r.status);
    console.log(`66 concurrent tower requests: ${statuses.filter((x) => x === 200).length} served, ${statuses.filter((x) => x === 503).length} shed`);
    expect(statuses.filter((x) => x === 200)).toHaveLength(65);
    const shed = answers.find((r) => r.status === 503);
    expect(shed?.headers.get("retry-after")).toBe("1");
    expect(((await shed?.json()) as { error: { code: string } }).error.code).toBe("OVERLOADED");
  });
});

describe("Worker in workerd: the API admits a few inferences at a time", () => {
  it("serves requests queued behind the running one (waiters poll; workerd cancels promise-queue waiters as hung)", async () => {
    const vars = { MAX_CONCURRENT: "1", MAX_QUEUED: "8" };
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => call("/v1/embeddings", { json: { model: MODEL, input: [imagePart(coinsUri), { type: "text", text: `text ${i}` }] } }, vars)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});

describe("Worker in workerd: errors", () => {
  const cases: [string, string, RequestInit & { json?: unknown }, Record<string, string>, number, string][] = [
    ["validation", "/v1/embeddings", { json: { model: MODEL } }, {}, 400, "invalid_request"],
    ["dimensions", "/v1/embeddings", { json: { model: MODEL, input: "x", dimensions: 32 } }, {}, 400, "dimensions_not_supported"],
    ["unknown model", "/v1/embeddings", { json: { model: "nope", input: "x" } }, {}, 404, "model_not_found"],
    ["body too large", "/v1/embeddings", { json: { model: MODEL, input: "x".repeat(500) } }, { MAX_BODY_BYTES: "200" }, 413, "payload_too_large"],
    ["media type", "/v1/embeddings", { method: "POST", body: "x", headers: { "content-type": "text/plain" } }, {}, 415, "unsupported_media_type"],
    ["undecodable image", "/v1/embeddings", { json: { model: MODEL, input: [imagePart("data:image/png;base64,iVBORw0KGgoAAAAA")] } }, {}, 422, "image_decode_failed"],
    ["URLs turned off", "/v1/classify", { json: { model: MODEL, images: ["https://example.com/a.png"], labels: ["a"] } }, { IMAGE_URLS: "off" }, 400, "image_url_disabled"],
  ];
  for (const [name, path, init, vars, status, code] of cases) {
    it(`${status} ${code}: ${name}`, async () => {
      const r = await call(path, init, vars);
      expect(r.status).toBe(status);
      expect(r.json.error).toMatchObject({ code });
      expect(Object.keys(r.json.error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(r.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/); // app.ts newRequestId: 12 random bytes in hex
    });
  }

  it("auth on: 401 without or with a wrong key, 200 with the right one; auth off: 200", async () => {
    const on = { API_KEY_HASHES: keyHash };
    expect((await call("/v1/models", {}, on)).status).toBe(401);
    expect((await call("/v1/models", { headers: { authorization: "Bearer nope" } }, on)).status).toBe(401);
    expect((await call("/v1/models", { headers: { authorization: "Bearer sk-edge-test" } }, on)).status).toBe(200);
    expect((await call("/v1/models")).status).toBe(200);
  });

  it("503 for a model whose bundle is missing from R2, with no internals in the body", async () => {
    const r = await call("/v1/embeddings", { json: { model: "broken", input: "x" } }, { MODEL_BUNDLES: '[{"id":"broken","prefix":"missing/"}]' });
    expect(r.status).toBe(503);
    expect(r.json.error).toEqual({ message: "the model is not available right now", type: "server_error", param: null, code: "model_unavailable" });
  });

  it("429 with Retry-After", async () => {
    const vars = { RATE_LIMIT_PER_MINUTE: "1", MAX_TEXTS: "255" }; // a distinct config gets its own limiter
    expect((await call("/v1/models", {}, vars)).status).toBe(200);
    const r = await call("/v1/models", {}, vars);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  for (const url of [
    "https://127.0.0.1/a.png",
    "https://10.1.2.3/a.png",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/a.png",
    `${origin}/redirect?to=https://169.254.169.254/latest/meta-data/`,
    `${origin}/redirect?to=https://[::1]/a.png`,
    `${origin}/redirect?to=https://10.0.0.1/a.png`,
  ]) {
    it(`SSRF: refuses ${url.replace(origin, "<test host>")}`, async () => {
      const r = await call("/v1/embeddings", { json: { model: MODEL, input: [imagePart(url)] } });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: "image_url_forbidden", param: "input[0].image_url" });
    });
  }
});
