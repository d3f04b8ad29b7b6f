/**
 * NaFlex in real workerd (onnxruntime-web from the CompiledWasm import, the tiny NaFlex bundle in the local R2
 * bucket): the Worker with both towers (ROLE=all), and the split deployment (ROLE=api decoding and resizing, the
 * vision Worker getting NaFlex-sized uint8 images with their grids), whole and in two stages per tower, give Hugging
 * Face's Siglip2ImageProcessor + Siglip2Model embeddings (fixtures/goldens/naflex) for 4 aspect ratios at two
 * `max_num_patches`; classify on the NaFlex model; binary output; the 400s with their codes.
 */
import { env } from "cloudflare:test";
import { cosine } from "@siglip-edge/core";
import { beforeAll, describe, expect, inject, it } from "vitest";
import worker from "../../src/worker.ts";
import type { WorkerEnv } from "../../src/worker-env.ts";

const origin = inject("fixtureOrigin");
const G = inject("naflex");
const FIXRES = "siglip-edge/tiny-fixres";
const NAFLEX = "siglip-edge/tiny-naflex";
const BUNDLES = JSON.stringify([
  { id: FIXRES, prefix: "tiny-fixres/", foldTokenIds: true },
  { id: NAFLEX, prefix: "tiny-naflex/", foldTokenIds: true },
]);
const names = Object.keys(G.uris);
const golden = (image: string, N: number) => G.cases.find((c) => c.image === image && c.maxNumPatches === N)?.imageEmbeds as number[];

beforeAll(async () => {
  const bucket = env["MODELS"] as { put(key: string, value: ArrayBuffer): Promise<unknown> };
  for (const [prefix, kind, files] of [["tiny-naflex/", "bundle-naflex", inject("naflexBundleFiles")], ["tiny-fixres/", "bundle", inject("bundleFiles")]] as const) {
    for (const f of files) {
      const res = await fetch(`${origin}/${kind}/${f}`);
      expect(res.status).toBe(200);
      await bucket.put(`${prefix}${f}`, await res.arrayBuffer());
    }
  }
});

type Json = Record<string, unknown> & { data: Record<string, unknown>[]; error: { code: string; param: string | null } };

async function call(path: string, json: unknown, vars: Record<string, unknown> = {}): Promise<{ status: number; json: Json }> {
  const init: RequestInit = json === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) };
  const res = await worker.fetch(new Request(`https://api.test${path}`, init), { ...(env as WorkerEnv), MODEL_BUNDLES: BUNDLES, ...vars } as WorkerEnv);
  return { status: res.status, json: (await res.json()) as Json };
}

const images = (N?: number) => ({ model: NAFLEX, input: names.map((n) => ({ type: "image_url", image_url: { url: G.uris[n] } })), ...(N === undefined ? {} : { max_num_patches: N }) });

function expectGoldens(data: Record<string, unknown>[], N: number, what: string): void {
  data.forEach((d, i) => {
    const c = cosine(d["embedding"] as number[], golden(names[i] as string, N));
    console.log(`[workerd naflex] ${what} ${names[i]} N=${N}: cosine ${c.toFixed(8)}`);
    expect(c).toBeGreaterThanOrEqual(0.99999);
  });
}

describe("NaFlex in workerd", () => {
  it("GET /v1/models lists the NaFlex model with its patch budgets (MAX_NUM_PATCHES caps them)", async () => {
    const m = await call("/v1/models", undefined, { MAX_NUM_PATCHES: "576" });
    expect(m.json.data.find((d) => d["id"] === NAFLEX)).toMatchObject({ family: "naflex", image_size: null, max_num_patches: { default: 256, allowed: [256, 576], patch_size: 4 } });
    expect(m.json.data.find((d) => d["id"] === FIXRES)).toMatchObject({ family: "fixres", image_size: 48, max_num_patches: null });
  });

  it("ROLE=all: POST /v1/embeddings at 256 (default) and 1024 patches equals Siglip2Model", async () => {
    for (const N of G.budgets) {
      const r = await call("/v1/embeddings", images(N === 256 ? undefined : N));
      expect(r.status).toBe(200);
      expectGoldens(r.json.data, N, "all");
    }
  });

  it("ROLE=api with tower Workers, whole and in two stages: the same embeddings", async () => {
    const roleEnv = (role: string, stage?: string) => ({ ...(env as WorkerEnv), MODEL_BUNDLES: BUNDLES, ROLE: role, ...(stage === undefined ? {} : { STAGE: stage }) }) as WorkerEnv;
    const calls: string[] = [];
    const binding = (role: string, stage?: string) => ({
      fetch: (req: Request) => {
        calls.push(`${role}${stage ?? ""}:${new URL(req.url).pathname}:${req.headers.get("x-siglip-grid") ?? "-"}`);
        return worker.fetch(req, roleEnv(role, stage));
      },
    });
    const whole = { ROLE: "api", TEXT_TOWER: binding("text"), VISION_TOWER: binding("vision") };
    const r = await call("/v1/embeddings", images(1024), whole);
    expect(r.status).toBe(200);
    expectGoldens(r.json.data, 1024, "api + whole towers");
    expect(calls).toEqual(["vision:/internal/embed-naflex:18x54,32x32,64x16,2x512"]);
    calls.length = 0;
    const staged = { ROLE: "api", TEXT_TOWER: binding("text", "0"), TEXT_TOWER_1: binding("text", "1"), VISION_TOWER: binding("vision", "0"), VISION_TOWER_1: binding("vision", "1") };
    const s = await call("/v1/embeddings", images(), staged);
    expect(s.status).toBe(200);
    expectGoldens(s.json.data, 256, "api + 2 stages");
    expect(calls).toEqual(["vision0:/internal/embed-naflex:9x27,16x16,32x8,1x256", "vision1:/internal/stage:9x27,16x16,32x8,1x256"]);
    const c = await call("/v1/classify", { model: NAFLEX, images: [G.uris["wide-3x1.png"]], labels: ["wide", "tall"], max_num_patches: 576 }, staged);
    const local = await call("/v1/classify", { model: NAFLEX, images: [G.uris["wide-3x1.png"]], labels: ["wide", "tall"], max_num_patches: 576 });
    expect(c.status).toBe(200);
    const scores = (x: { json: Json }) => (x.json.data[0]?.["scores"] as { label: string; score: number }[]).map((v) => [v.label, v.score.toFixed(5)]);
    expect(scores(c)).toEqual(scores(local));
  });

  it("binary output and the 400s: max_num_patches on FixRes, outside the set, unknown embedding_type", async () => {
    const f = await call("/v1/embeddings", { ...images(), embedding_type: "float" });
    const b = await call("/v1/embeddings", { ...images(), embedding_type: "ubinary" });
    b.json.data.forEach((d, i) => {
      const v = f.json.data[i]?.["embedding"] as number[];
      const bytes = d["embedding"] as number[];
      expect(bytes).toHaveLength(8);
      v.forEach((x, k) => expect(((bytes[k >> 3] as number) >> (7 - (k % 8))) & 1).toBe(x > 0 ? 1 : 0));
    });
    const bad: [unknown, string][] = [
      [{ model: FIXRES, input: "x", max_num_patches: 256 }, "max_num_patches_not_supported"],
      [{ ...images(), max_num_patches: 512 }, "unsupported_max_num_patches"],
      [{ ...images(), embedding_type: "bits" }, "unsupported_embedding_type"],
    ];
    for (const [body, code] of bad) {
      const r = await call("/v1/embeddings", body);
      expect([r.status, r.json.error.code]).toEqual([400, code]);
    }
  });
});
