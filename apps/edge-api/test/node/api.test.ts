import { createServer, type Server } from "node:http";
import { cosine, l2Norm, sha256Hex, sigmoid } from "@siglip-edge/core";
import { engineTowers, memoryEmbeddingCache, openModel } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource } from "@siglip-edge/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type AppDeps } from "../../src/app.ts";
import { DEFAULT_CONFIG, type ApiConfig } from "../../src/config.ts";
import { localModelProvider } from "../../src/node/models.ts";
import { dataUri, photo, TINY_ID, tinyBundle } from "./fixtures.ts";

type Json = Record<string, unknown> & { data: { embedding: number[] | string; index: number; scores: { label: string; score: number }[] }[] };

let dir = "";
let imageServer: Server;
let origin = "";
const coins = photo("skimage/coins.png");
const chelsea = photo("skimage/chelsea.png");

beforeAll(async () => {
  dir = await tinyBundle();
  imageServer = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname === "/coins.png") return void res.writeHead(200, { "content-type": "image/png" }).end(coins);
    if (u.pathname === "/redirect") return void res.writeHead(302, { location: u.searchParams.get("to") ?? "/coins.png" }).end();
    if (u.pathname === "/loop") return void res.writeHead(302, { location: "/loop" }).end();
    if (u.pathname === "/text") return void res.writeHead(200, { "content-type": "text/plain" }).end("not an image");
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => imageServer.listen(0, "127.0.0.1", r));
  const a = imageServer.address();
  origin = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});
afterAll(() => new Promise<void>((r) => imageServer.close(() => r())));

function makeApp(config: Partial<ApiConfig> = {}, deps: Partial<AppDeps> = {}) {
  const cfg: ApiConfig = {
    ...DEFAULT_CONFIG,
    ...config,
    images: { ...DEFAULT_CONFIG.images, testAllowOrigins: [origin], resolver: async (h) => (h === "evil.example.com" ? ["10.1.2.3"] : ["93.184.215.14"]), ...config.images },
  };
  return createApp({ config: cfg, models: localModelProvider([{ dir, id: TINY_ID, foldTokenIds: true }]), ...deps });
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}): RequestInit & { path: string } => ({
  path,
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

async function call(app: ReturnType<typeof makeApp>, r: RequestInit & { path: string }): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await app.request(r.path, r);
  const text = await res.text();
  return { status: res.status, json: (text.startsWith("{") ? JSON.parse(text) : { text }) as Json, headers: res.headers };
}

function decodeBase64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

describe("GET routes", () => {
  it("healthz, models, openapi, docs; every response has a request id", async () => {
    const app = makeApp();
    const h = await call(app, { path: "/healthz", headers: { "x-request-id": "abc-123" } });
    expect(h.status).toBe(200);
    expect(h.headers.get("x-request-id")).toBe("abc-123");
    const m = await call(app, { path: "/v1/models" });
    expect(m.json["object"]).toBe("list");
    expect(m.json.data).toEqual([expect.objectContaining({ id: TINY_ID, object: "model", family: "fixres", quantization: "fp32", embedding_dimensions: 96 })]);
    expect(m.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/);
    const o = await call(app, { path: "/openapi.json" });
    const paths = o.json["paths"] as Record<string, { post?: { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } } }>;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(["/v1/embeddings", "/v1/classify", "/v1/models", "/healthz"]));
    const props = paths["/v1/embeddings"]?.post?.requestBody.content["application/json"]?.schema.properties ?? {};
    expect(Object.keys(props)).toEqual(expect.arrayContaining(["model", "input", "encoding_format", "normalize", "dimensions"]));
    const d = await app.request("/docs");
    expect(d.headers.get("content-type")).toContain("text/html");
    expect(await d.text()).toContain(TINY_ID);
  });
});

describe("POST /v1/embeddings", () => {
  it("texts, typed parts with images, base64, normalize; parity with the text graph that holds the table", async () => {
    const app = makeApp();
    const texts = ["a photo of a cat", "ein Foto einer Katze", "猫の写真"];
    const f = await call(app, post("/v1/embeddings", { model: TINY_ID, input: texts }));
    expect(f.status).toBe(200);
    expect(f.json["model"]).toBe(TINY_ID);
    expect(f.json.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const vecs = f.json.data.map((d) => d.embedding as number[]);
    for (const v of vecs) expect(l2Norm(v)).toBeCloseTo(1, 5);
    expect((f.json["usage"] as { prompt_tokens: number }).prompt_tokens).toBeGreaterThan(3);
    expect(f.headers.get("x-model-revision")).toMatch(/^sha-/);

    const b = await call(app, post("/v1/embeddings", { model: TINY_ID, input: texts, encoding_format: "base64" }));
    b.json.data.forEach((d, i) => expect(Array.from(decodeBase64(d.embedding as string))).toEqual(vecs[i]));

    // The other text graph (token table inside, input_ids in: what a KServe backend serves) on the same token ids,
    // tokenized here from the Gemma development vocabulary: no token rows read by the runtime.
    const ref = await openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine(), { textGraph: "text" }) });
    const tok = await import("@siglip-edge/tokenizer/node").then(async (t) => t.loadTokenizer(t.devTokenizerJsonPath()));
    const ids = texts.map((t) => tok.encode(t).map((x) => x % 1000));
    const pooled = (await ref.runTokenIds(ids)).embeddings;
    for (let i = 0; i < texts.length; i++) {
      const c = cosine(pooled.data.subarray(i * 96, (i + 1) * 96), vecs[i] as number[]);
      console.log(`text ${i}: cosine API vs text.onnx = ${c.toFixed(7)}`);
      expect(c).toBeGreaterThanOrEqual(0.99999);
    }

    const parts = await call(app, post("/v1/embeddings", {
      model: TINY_ID,
      input: [{ type: "text", text: texts[0] }, { type: "image_url", image_url: { url: dataUri(coins) } }, { type: "image_url", image_url: dataUri(chelsea) }],
    }));
    expect(parts.status).toBe(200);
    expect(parts.json.data[0]?.embedding).toEqual(vecs[0]);
    expect((parts.json["usage"] as { images: number }).images).toBe(2);
    const raw = await call(app, post("/v1/embeddings", { model: TINY_ID, input: [{ type: "image_url", image_url: { url: dataUri(coins) } }], normalize: false }));
    const rawVec = raw.json.data[0]?.embedding as number[];
    expect(Math.abs(l2Norm(rawVec) - 1)).toBeGreaterThan(1e-3);
    expect(cosine(rawVec, parts.json.data[1]?.embedding as number[])).toBeCloseTo(1, 6);

    const byUrl = await call(app, post("/v1/embeddings", { model: TINY_ID, input: [{ type: "image_url", image_url: { url: `${origin}/coins.png` } }] }));
    expect(byUrl.status).toBe(200);
    expect(byUrl.json.data[0]?.embedding).toEqual(parts.json.data[1]?.embedding);
    const redirected = await call(app, post("/v1/embeddings", { model: TINY_ID, input: [{ type: "image_url", image_url: { url: `${origin}/redirect` } }] }));
    expect(redirected.json.data[0]?.embedding).toEqual(parts.json.data[1]?.embedding);
  });
});

describe("POST /v1/classify", () => {
  it("sigmoid scores from the checkpoint's scale and bias, sorted; ensembles; cached labels; multilingual labels", async () => {
    const cache = memoryEmbeddingCache();
    const app = makeApp({}, { labelCache: cache });
    const labels = ["cat", "coins", "Katze", "硬币"];
    const r = await call(app, post("/v1/classify", { model: TINY_ID, images: [dataUri(coins), dataUri(chelsea)], labels }));
    expect(r.status).toBe(200);
    expect(r.json.data.map((d) => d.index)).toEqual([0, 1]);
    const scores = r.json.data[0]?.scores ?? [];
    expect(scores.map((s) => s.label).sort()).toEqual([...labels].sort());
    for (let i = 1; i < scores.length; i++) expect((scores[i - 1] as { score: number }).score).toBeGreaterThanOrEqual((scores[i] as { score: number }).score);

    // Recompute one score from /v1/embeddings and the manifest's logit scale and bias.
    const m = (await import("node:fs")).readFileSync(`${dir}/manifest.json`, "utf8");
    const { logitScale, logitBias } = JSON.parse(m) as { logitScale: number; logitBias: number };
    const e = await call(app, post("/v1/embeddings", { model: TINY_ID, input: [{ type: "image_url", image_url: dataUri(coins) }, { type: "text", text: "This is a photo of Katze." }] }));
    const [img, txt] = e.json.data.map((d) => d.embedding as number[]);
    const expected = sigmoid(cosine(img as number[], txt as number[]) * Math.exp(logitScale) + logitBias);
    expect(scores.find((s) => s.label === "Katze")?.score).toBeCloseTo(expected, 6);

    const templates = ["a photo of {}.", "a picture of a {}"];
    const ens = await call(app, post("/v1/classify", { model: TINY_ID, images: [dataUri(coins)], labels: ["cat"], templates }));
    const t = await call(app, post("/v1/embeddings", { model: TINY_ID, input: ["a photo of cat.", "a picture of a cat"] }));
    const mean = (t.json.data[0]?.embedding as number[]).map((x, i) => x + ((t.json.data[1]?.embedding as number[])[i] as number));
    const exp2 = sigmoid(cosine(img as number[], mean) * Math.exp(logitScale) + logitBias);
    expect(ens.json.data[0]?.scores[0]?.score).toBeCloseTo(exp2, 6);

    const again = await call(app, post("/v1/classify", { model: TINY_ID, images: [dataUri(coins), dataUri(chelsea)], labels }));
    expect(again.json.data).toEqual(r.json.data);
    expect(await cache.get("label:missing")).toBeUndefined();
  });
});

describe("errors: OpenAI envelope, stable codes, right statuses", () => {
  const model = TINY_ID;
  const cases: [string, Partial<ApiConfig>, RequestInit & { path: string }, number, string, string | null][] = [
    ["invalid JSON", {}, post("/v1/embeddings", "{nope"), 400, "invalid_json", null],
    ["missing input", {}, post("/v1/embeddings", { model }), 400, "invalid_request", "input"],
    ["bad part", {}, post("/v1/embeddings", { model, input: [{ type: "image_url" }] }), 400, "invalid_request", "input"],
    ["dimensions", {}, post("/v1/embeddings", { model, input: "x", dimensions: 64 }), 400, "dimensions_not_supported", "dimensions"],
    ["too many texts", { maxTexts: 2 }, post("/v1/embeddings", { model, input: ["a", "b", "c"] }), 400, "too_many_inputs", "input"],
    ["too many images", { maxImages: 1 }, post("/v1/classify", { model, images: ["data:image/png;base64,AA==", "data:image/png;base64,AA=="], labels: ["a"] }), 400, "too_many_inputs", "images"],
    ["template without {}", {}, post("/v1/classify", { model, images: ["data:image/png;base64,AA=="], labels: ["a"], template: "a photo" }), 400, "invalid_request", "template"],
    ["unknown model", {}, post("/v1/embeddings", { model: "nope/nope", input: "x" }), 404, "model_not_found", "model"],
    ["unknown route", {}, { path: "/v2/nothing" }, 404, "not_found", null],
    ["GET on a POST route", {}, { path: "/v1/embeddings" }, 405, "method_not_allowed", null],
    ["body too large", { maxBodyBytes: 100 }, post("/v1/embeddings", { model, input: "x".repeat(200) }), 413, "payload_too_large", null],
    ["wrong media type", {}, { ...post("/v1/embeddings", { model, input: "x" }), headers: { "content-type": "text/plain" } }, 415, "unsupported_media_type", null],
    ["undecodable image", {}, post("/v1/embeddings", { model, input: [{ type: "image_url", image_url: dataUri(new Uint8Array([1, 2, 3, 4, 5])) }] }), 422, "image_decode_failed", "input[0].image_url"],
    ["truncated PNG", {}, post("/v1/embeddings", { model, input: [{ type: "text", text: "ok" }, { type: "image_url", image_url: dataUri(coins.subarray(0, 2000)) }] }), 422, "image_decode_failed", "input[1].image_url"],
    ["non-image URL body", {}, post("/v1/embeddings", { model, input: [{ type: "image_url", image_url: "PLACEHOLDER/text" }] }), 422, "image_decode_failed", "input[0].image_url"],
    ["redirect loop", {}, post("/v1/embeddings", { model, input: [{ type: "image_url", image_url: "PLACEHOLDER/loop" }] }), 422, "image_fetch_failed", "input[0].image_url"],
  ];
  for (const [name, config, req, status, code, param] of cases) {
    it(`${status} ${code}: ${name}`, async () => {
      const body = typeof req.body === "string" ? req.body.replaceAll("PLACEHOLDER", origin) : req.body;
      const r = await call(makeApp(config), { ...req, body: body ?? null });
      expect(r.status).toBe(status);
      expect(r.json["error"]).toEqual({ message: expect.any(String), type: expect.any(String), param, code });
      expect(r.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/); // app.ts newRequestId: 12 random bytes in hex
    });
  }

  it("401 with auth on (missing, wrong key), 200 with the right one; keys stored hashed", async () => {
    const app = makeApp({ apiKeyHashes: [await sha256Hex("sk-test-1")] });
    const none = await call(app, { path: "/v1/models" });
    expect(none.status).toBe(401);
    expect(none.json["error"]).toMatchObject({ code: "invalid_api_key", type: "authentication_error" });
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await call(app, { path: "/v1/models", headers: { authorization: "Bearer sk-wrong" } })).status).toBe(401);
    expect((await call(app, { path: "/v1/models", headers: { authorization: "Bearer sk-test-1" } })).status).toBe(200);
    expect((await call(app, { path: "/healthz" })).status).toBe(200);
  });

  it("429 with Retry-After once the rate limit is reached", async () => {
    const app = makeApp({ rateLimit: { requests: 2, windowSeconds: 60 } });
    expect((await call(app, { path: "/v1/models" })).status).toBe(200);
    expect((await call(app, { path: "/v1/models" })).status).toBe(200);
    const r = await call(app, { path: "/v1/models" });
    expect(r.status).toBe(429);
    expect(r.json["error"]).toMatchObject({ code: "rate_limited", type: "rate_limit_error" });
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("429 overloaded when more requests arrive than may run or wait", async () => {
    const app = makeApp({ maxConcurrent: 1, maxQueued: 0 });
    const body = { model, input: Array.from({ length: 8 }, (_, i) => `text number ${i}`) };
    const results = await Promise.all([call(app, post("/v1/embeddings", body)), call(app, post("/v1/embeddings", body)), call(app, post("/v1/embeddings", body))]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(429);
    const busy = results.find((r) => r.status === 429);
    expect(busy?.json["error"]).toMatchObject({ code: "overloaded" });
    expect(busy?.headers.get("retry-after")).toBe("1");
  });

  it("5xx bodies never carry internals", async () => {
    const leaky = createApp({
      config: DEFAULT_CONFIG,
      models: { list: async () => [], get: async () => { throw new TypeError("cannot read /srv/secret/weights.bin: token=abc"); } },
    });
    const r = await call(leaky, post("/v1/embeddings", { model, input: "x" }));
    expect(r.status).toBe(500);
    expect(r.json["error"]).toEqual({ message: "internal error", type: "server_error", param: null, code: "internal_error" });
    expect(JSON.stringify(r.json)).not.toContain("secret");
  });
});

describe("image URLs: SSRF guards", () => {
  const refused: [string, string][] = [
    ["loopback v4", "https://127.0.0.1/cat.png"],
    ["private 10/8", "https://10.0.0.7/cat.png"],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["loopback v6", "https://[::1]/cat.png"],
    ["v4-mapped v6", "https://[::ffff:127.0.0.1]/cat.png"],
    ["decimal loopback", "https://2130706433/cat.png"],
    ["localhost name", "https://localhost/cat.png"],
    ["plain http", "http://example.com/cat.png"],
    ["non-default port", "https://example.com:8443/cat.png"],
    ["credentials", "https://user:pw@example.com/cat.png"],
    ["a name resolving to 10/8", "https://evil.example.com/cat.png"],
    ["redirect to metadata", "PLACEHOLDER/redirect?to=https://169.254.169.254/latest/meta-data/"],
    ["redirect to loopback", "PLACEHOLDER/redirect?to=https://127.0.0.1/x.png"],
    ["redirect to [::1]", "PLACEHOLDER/redirect?to=https://[::1]/x.png"],
  ];
  for (const [name, url] of refused) {
    it(`refuses ${name}`, async () => {
      const r = await call(makeApp(), post("/v1/embeddings", { model: TINY_ID, input: [{ type: "image_url", image_url: { url: url.replace("PLACEHOLDER", origin) } }] }));
      expect(r.status).toBe(400);
      expect(r.json["error"]).toMatchObject({ code: "image_url_forbidden", param: "input[0].image_url" });
    });
  }

  it("a setting turns URL input off (data: URIs still work)", async () => {
    const app = makeApp({ images: { ...DEFAULT_CONFIG.images, allowUrls: false } });
    const r = await call(app, post("/v1/classify", { model: TINY_ID, images: [`${origin}/coins.png`], labels: ["a"] }));
    expect(r.status).toBe(400);
    expect(r.json["error"]).toMatchObject({ code: "image_url_disabled", param: "images[0]" });
    expect((await call(app, post("/v1/classify", { model: TINY_ID, images: [dataUri(coins)], labels: ["a"] }))).status).toBe(200);
  });

  it("caps the image size", async () => {
    const app = makeApp({ images: { ...DEFAULT_CONFIG.images, maxBytes: 1000 } });
    const r = await call(app, post("/v1/embeddings", { model: TINY_ID, input: [{ type: "image_url", image_url: `${origin}/coins.png` }] }));
    expect(r.status).toBe(413);
  });
});
