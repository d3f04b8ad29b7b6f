/**
 * NaFlex and embedding types through the HTTP API on Node (onnxruntime-node, as `siglip serve` runs it) and through
 * the tower protocol over real HTTP (the split edge deployment's API Worker sending the vision Worker NaFlex-sized
 * images, whole towers and two stages): image embeddings equal Hugging Face's Siglip2ImageProcessor + Siglip2Model
 * (fixtures/goldens/naflex) for 4 aspect ratios at two `max_num_patches`; classify on a NaFlex model; every
 * `embedding_type` decoded and checked against the float embedding by the rule the OpenAPI schema states; the
 * `max_num_patches` and `embedding_type` errors with their codes; `/v1/models` per family.
 */
import type { Server } from "node:http";
import { base64ToBytes, cosine, dequantizeEmbedding, embeddingFromBase64, EMBEDDING_TYPES, hammingDistance, sigmoid, type EmbeddingType } from "@siglip-edge/core";
import { engineTowers, openModel } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { DEFAULT_CONFIG, type ApiConfig } from "../../src/config.ts";
import { localModelProvider } from "../../src/node/models.ts";
import { workerTowers, type Fetcher } from "../../src/tower-protocol.ts";
import { dataUri, httpTower, naflexGoldens, TINY_ID, TINY_NAFLEX_ID, tinyBundle, tinyNaflexBundle } from "./fixtures.ts";

type Data = { index: number; embedding: number[] | string; scale?: number; scores?: { label: string; score: number }[] };
type Json = Record<string, unknown> & { data: Data[]; error: { code: string; param: string | null; message: string } };

const G = naflexGoldens();
const names = [...new Set(G.cases.map((c) => c.image))];
const uris = names.map((n) => dataUri(G.image(n)));
const golden = (image: string, N: number) => G.cases.find((c) => c.image === image && c.maxNumPatches === N)?.imageEmbeds as number[];
let fixresDir = "";
let naflexDir = "";
const servers: Server[] = [];

beforeAll(async () => {
  [fixresDir, naflexDir] = await Promise.all([tinyBundle(), tinyNaflexBundle()]);
});
afterAll(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

function makeApp(config: Partial<ApiConfig> = {}) {
  const models = localModelProvider([
    { dir: fixresDir, id: TINY_ID, foldTokenIds: true },
    { dir: naflexDir, id: TINY_NAFLEX_ID, foldTokenIds: true },
  ]);
  return createApp({ config: { ...DEFAULT_CONFIG, ...config }, models });
}

async function post(app: ReturnType<typeof makeApp>, path: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
}

const imageInput = (list: string[]) => list.map((url) => ({ type: "image_url", image_url: { url } }));

describe("NaFlex over the HTTP API on Node", () => {
  it("GET /v1/models: FixRes with its image size, NaFlex with its patch budgets (capped per deployment)", async () => {
    const res = await makeApp({ maxNumPatches: 784 }).request("/v1/models");
    const data = ((await res.json()) as { data: Record<string, unknown>[] }).data;
    expect(data).toEqual([
      expect.objectContaining({ id: TINY_ID, family: "fixres", image_size: 48, max_num_patches: null }),
      expect.objectContaining({ id: TINY_NAFLEX_ID, family: "naflex", image_size: null, max_num_patches: { default: 256, allowed: [256, 576, 784], patch_size: 4 } }),
    ]);
  });

  it("/openapi.json states the quantisation rules and the NaFlex field; /docs shows a NaFlex and a binary request", async () => {
    const app = makeApp({ maxNumPatches: 576 });
    const doc = (await (await app.request("/openapi.json")).json()) as { paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { description?: string; enum?: string[] }> } }> } } }> };
    const props = doc.paths["/v1/embeddings"]?.post.requestBody.content["application/json"]?.schema.properties ?? {};
    expect(props["embedding_type"]?.enum).toEqual(["float", "int8", "uint8", "binary", "ubinary"]);
    expect(props["embedding_type"]?.description).toMatch(/scale = max_i \|v_i\| \/ 127[\s\S]*packed MSB-first[\s\S]*minus 128/);
    expect(props["max_num_patches"]?.description).toMatch(/256 default, 576, 784, 1024/);
    const html = await (await app.request("/docs")).text();
    expect(html).toContain(`&#34;model&#34;:&#34;${TINY_NAFLEX_ID}&#34;,&#34;max_num_patches&#34;:576`);
    expect(html).toContain("&#34;embedding_type&#34;:&#34;ubinary&#34;");
    expect(html).toContain("NaFlex (patch 4, max_num_patches 256 / 576, default 256)");
  });

  it("POST /v1/embeddings: 4 aspect ratios at the default 256 and at 1024 patches equal Siglip2Model (cosine >= 0.99999)", async () => {
    const app = makeApp();
    for (const N of G.budgets) {
      const r = await post(app, "/v1/embeddings", { model: TINY_NAFLEX_ID, input: imageInput(uris), ...(N === 256 ? {} : { max_num_patches: N }) });
      expect(r.status).toBe(200);
      r.json.data.forEach((d, i) => {
        const c = cosine(d.embedding as number[], golden(names[i] as string, N));
        console.log(`[api node naflex] ${names[i]} N=${N}: cosine ${c.toFixed(8)}`);
        expect(c).toBeGreaterThanOrEqual(0.99999);
      });
    }
  });

  it("POST /v1/classify on a NaFlex model: sigmoid(cos(image, label) * exp(t) + b) with the reference's image embedding", async () => {
    const app = makeApp();
    const labels = ["a wide picture", "a tall picture", "stripes"];
    const r = await post(app, "/v1/classify", { model: TINY_NAFLEX_ID, images: [uris[2]], labels, template: "{}", max_num_patches: 1024 });
    expect(r.status).toBe(200);
    const t = await post(app, "/v1/embeddings", { model: TINY_NAFLEX_ID, input: labels });
    const m = await openModel({ source: fsBundleSource(naflexDir), towers: engineTowers(createNodeEngine()) });
    const want = labels.map((label, i) => ({ label, score: sigmoid(cosine(golden("tall-1x4.png", 1024), t.json.data[i]?.embedding as number[]) * Math.exp(m.logit.logitScale) + m.logit.logitBias) }));
    const got = r.json.data[0]?.scores ?? [];
    expect(got.map((s) => s.label)).toEqual([...want].sort((a, b) => b.score - a.score).map((s) => s.label));
    for (const s of got) expect(s.score).toBeCloseTo(want.find((w) => w.label === s.label)?.score as number, 5);
  });

  it("bad input: max_num_patches on FixRes, outside the set or above the cap, unknown embedding_type: 400 with stable codes", async () => {
    const app = makeApp({ maxNumPatches: 576 });
    const cases: [unknown, string, string][] = [
      [{ model: TINY_ID, input: imageInput([uris[0] as string]), max_num_patches: 256 }, "max_num_patches_not_supported", "max_num_patches"],
      [{ model: TINY_NAFLEX_ID, input: imageInput([uris[0] as string]), max_num_patches: 300 }, "unsupported_max_num_patches", "max_num_patches"],
      [{ model: TINY_NAFLEX_ID, input: imageInput([uris[0] as string]), max_num_patches: 1024 }, "unsupported_max_num_patches", "max_num_patches"],
      [{ model: TINY_NAFLEX_ID, input: imageInput([uris[0] as string]), max_num_patches: 256.5 }, "unsupported_max_num_patches", "max_num_patches"],
      [{ model: TINY_NAFLEX_ID, input: "x", embedding_type: "fp16" }, "unsupported_embedding_type", "embedding_type"],
    ];
    for (const [body, code, param] of cases) {
      const r = await post(app, "/v1/embeddings", body);
      expect([r.status, r.json.error.code, r.json.error.param], JSON.stringify(body)).toEqual([400, code, param]);
    }
    const c = await post(app, "/v1/classify", { model: TINY_ID, images: [uris[0]], labels: ["x"], max_num_patches: 576 });
    expect([c.status, c.json.error.code]).toEqual([400, "max_num_patches_not_supported"]);
    const ok = await post(app, "/v1/classify", { model: TINY_NAFLEX_ID, images: [uris[0]], labels: ["x"], max_num_patches: 576 });
    expect(ok.status).toBe(200);
  });
});

describe("embedding types over the API", () => {
  it("every type round-trips (JSON and base64) and decodes to the float embedding by the documented rule", async () => {
    const app = makeApp();
    const input = [...imageInput(uris), { type: "text", text: "a photo of a cat" }];
    const float = (await post(app, "/v1/embeddings", { model: TINY_NAFLEX_ID, input })).json.data.map((d) => d.embedding as number[]);
    for (const type of EMBEDDING_TYPES) {
      const j = await post(app, "/v1/embeddings", { model: TINY_NAFLEX_ID, input, embedding_type: type });
      const b = await post(app, "/v1/embeddings", { model: TINY_NAFLEX_ID, input, embedding_type: type, encoding_format: "base64" });
      expect(j.status).toBe(200);
      j.json.data.forEach((d, i) => {
        const v = float[i] as number[];
        const q = embeddingFromBase64(b.json.data[i]?.embedding as string, type as EmbeddingType, b.json.data[i]?.scale);
        expect(Array.from(q.values), `${type} base64 = JSON`).toEqual(d.embedding);
        const vals = d.embedding as number[];
        if (type === "float") expect(vals).toEqual(v);
        if (type === "int8" || type === "uint8") {
          const off = type === "uint8" ? 128 : 0;
          const scale = d.scale as number;
          expect(scale).toBe(Math.fround(Math.max(...v.map(Math.abs)) / 127));
          vals.forEach((x, k) => expect(Math.abs((x - off) * scale - (v[k] as number))).toBeLessThanOrEqual(scale / 2 + 1e-9));
          expect(cosine(dequantizeEmbedding(q), v)).toBeGreaterThan(0.999);
        }
        if (type === "binary" || type === "ubinary") {
          expect(d.scale).toBeUndefined();
          expect(vals).toHaveLength(v.length / 8); // 64 dims: 8 bytes
          const bytes = type === "binary" ? vals.map((x) => x + 128) : vals;
          v.forEach((x, k) => expect(((bytes[k >> 3] as number) >> (7 - (k % 8))) & 1).toBe(x > 0 ? 1 : 0));
          expect(base64ToBytes(b.json.data[i]?.embedding as string)).toHaveLength(8);
        }
      });
    }
  });

  it("binary Hamming and int8 dot ranking agree with float ranking on the top result (the images at two budgets)", async () => {
    const app = makeApp();
    // A small set: the 4 images at 784 patches are the documents, the same images at 576 patches the queries. (With
    // 64 random-weight dimensions two of the images are close, cosine 0.97, and 256 vs 1024 patches ties in Hamming.)
    const get = async (type: string, N: number) => (await post(app, "/v1/embeddings", { model: TINY_NAFLEX_ID, input: imageInput(uris), embedding_type: type, max_num_patches: N })).json.data;
    const [docsF, qF, docsB, qB, docsI, qI] = await Promise.all([get("float", 784), get("float", 576), get("ubinary", 784), get("ubinary", 576), get("int8", 784), get("int8", 576)]);
    const argBest = (xs: number[], best: (a: number, b: number) => boolean) => xs.reduce((bi, x, i) => (best(x, xs[bi] as number) ? i : bi), 0);
    for (let q = 0; q < 4; q++) {
      const f = argBest(docsF.map((d) => cosine(qF[q]?.embedding as number[], d.embedding as number[])), (a, b) => a > b);
      const h = argBest(docsB.map((d) => hammingDistance(qB[q]?.embedding as number[], d.embedding as number[])), (a, b) => a < b);
      const i8 = argBest(docsI.map((d) => (d.embedding as number[]).reduce((a, x, k) => a + x * ((qI[q]?.embedding as number[])[k] as number), 0) * (d.scale as number)), (a, b) => a > b);
      expect([h, i8], `query ${names[q]}`).toEqual([f, f]);
      expect(f).toBe(q); // each image finds itself at the other budget: the ranking is not trivial noise
    }
  });
});

/** A tower Worker over HTTP on 127.0.0.1 (the protocol's server; whole towers or stage `stage`). */
const tower = (stage?: number) =>
  httpTower(TINY_NAFLEX_ID, () => openModel({ source: fsBundleSource(naflexDir), towers: engineTowers(createNodeEngine(), stage === undefined ? {} : { stage }), id: TINY_NAFLEX_ID, foldTokenIds: true }), stage, servers);

describe("NaFlex through the tower protocol (split edge deployment, real HTTP)", () => {
  const api = (text: Fetcher[], vision: Fetcher[]) => openModel({ source: fsBundleSource(naflexDir), towers: workerTowers({ text, vision }), id: TINY_NAFLEX_ID, foldTokenIds: true, initDecoders: initNodeDecoders });
  const files = () => names.map((n) => G.image(n));

  it("whole towers: NaFlex-sized uint8 images and their grids go to the vision Worker; embeddings equal the reference", async () => {
    const [t, v] = await Promise.all([tower(), tower()]);
    const m = await api([t.fetcher], [v.fetcher]);
    for (const N of G.budgets) {
      const vecs = await m.embedImages(files(), { maxNumPatches: N });
      vecs.forEach((x, i) => expect(cosine(x, golden(names[i] as string, N))).toBeGreaterThanOrEqual(0.99999));
    }
    expect(v.calls).toEqual(["/internal/embed-naflex:4,256,4", "/internal/embed-naflex:4,1024,4"]);
    expect(v.grids).toEqual(["9x27,16x16,32x8,1x256", "18x54,32x32,64x16,2x512"]);
  });

  it("two stages: the grids travel with the hidden states to stage 1, which rebuilds the key mask", async () => {
    const [t0, t1, v0, v1] = await Promise.all([tower(0), tower(1), tower(0), tower(1)]);
    const m = await api([t0.fetcher, t1.fetcher], [v0.fetcher, v1.fetcher]);
    const vecs = await m.embedImages(files(), { maxNumPatches: 1024 });
    const cos = vecs.map((x, i) => cosine(x, golden(names[i] as string, 1024)));
    console.log(`[tower protocol naflex] staged vs reference: ${cos.map((c) => c.toFixed(8)).join(" ")}`);
    for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.99999);
    expect(v1.calls).toEqual(["/internal/stage:4,1024,64"]);
    expect(v1.grids).toEqual(["18x54,32x32,64x16,2x512"]);
  });

  it("the vision Worker refuses a budget the model does not take, a grid that does not fit, and a missing grid", async () => {
    const v = await tower();
    const body = new Uint8Array(16 * 16 * 3);
    const send = (dims: string, grid: string | null) =>
      v.fetcher.fetch(new Request("https://t/internal/embed-naflex", { method: "POST", headers: { "content-type": "application/x-siglip-naflex", "x-siglip-model": TINY_NAFLEX_ID, "x-siglip-dims": dims, ...(grid ? { "x-siglip-grid": grid } : {}) }, body }));
    const ok = await send("1,256,4", "4x4");
    expect(ok.status).toBe(200);
    for (const [dims, grid, why] of [["1,300,4", "4x4", /max_num_patches must be one of 256, 576, 784, 1024/], ["1,8,4", "4x4", /do not describe/], ["1,256,4", null, /do not describe/], ["1,256,8", "2x2", /patch size 8/]] as const) {
      const r = await send(dims, grid);
      expect(r.status).toBe(500);
      expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(why) });
    }
  });
});
