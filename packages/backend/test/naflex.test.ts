/**
 * NaFlex on the KServe v2 path: the dev backend serves a tiny NaFlex bundle's vision tower with the patch count as a
 * dynamic dimension; the runtime's KServe towers (position embeddings resized on the client) give Hugging Face's
 * embeddings (fixtures/goldens/naflex, tools/reference/naflex_goldens.py) for 4 aspect ratios at two budgets; the
 * backend refuses inputs whose patch counts disagree; the Triton repository declares the same contract.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cosine, tensor } from "@siglip-edge/core";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import { encodeInferRequest, KServeClient, kserveTowers, openModel } from "@siglip-edge/runtime";
import { fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readModelConfig, startDevBackend, writeTritonRepo, type DevBackend } from "../src/index.ts";

const GOLDENS = join(import.meta.dirname, "..", "..", "..", "fixtures", "goldens", "naflex");
const G = JSON.parse(readFileSync(join(GOLDENS, "goldens.json"), "utf8")) as { seed: number; cases: { image: string; maxNumPatches: number; imageEmbeds: number[] }[] };

let dir = "";
let backend: DevBackend;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), "siglip-backend-naflex-"));
  await generateCheckpoint(join(root, "ck"), "tiny-naflex", { seed: G.seed });
  dir = join(root, "tiny-naflex");
  await convertCheckpoint(join(root, "ck"), dir, { checkpointId: "test/tiny-naflex" });
  backend = await startDevBackend({ bundles: [{ dir }] });
}, 120_000);
afterAll(async () => backend?.close());

describe("NaFlex on the dev backend", () => {
  it("lists the vision tower with three inputs, the patch count dynamic, and no uint8 model", async () => {
    expect(backend.models.map((m) => m.name)).toEqual(["tiny-naflex-vision", "tiny-naflex-text"]);
    const meta = await new KServeClient({ url: backend.url }).modelMetadata("tiny-naflex-vision");
    expect(meta.inputs).toEqual([
      { name: "pixel_values", datatype: "FP32", shape: [-1, -1, 48] },
      { name: "pixel_attention_mask", datatype: "INT64", shape: [-1, -1] },
      { name: "position_embeddings", datatype: "FP32", shape: [-1, -1, 64] },
    ]);
  });

  it("KServe towers give Siglip2Model's embeddings for every aspect ratio at both budgets (cosine >= 0.99999)", async () => {
    const m = await openModel({ source: fsBundleSource(dir), towers: kserveTowers({ client: new KServeClient({ url: backend.url }), remoteName: "tiny-naflex" }), initDecoders: initNodeDecoders });
    for (const N of [256, 1024]) {
      const cases = G.cases.filter((c) => c.maxNumPatches === N);
      const vecs = await m.embedImages(cases.map((c) => new Uint8Array(readFileSync(join(GOLDENS, "images", c.image)))), { maxNumPatches: N });
      cases.forEach((c, i) => {
        const cos = cosine(vecs[i] as Float32Array, c.imageEmbeds);
        console.log(`[backend naflex] ${c.image} N=${N}: cosine ${cos.toFixed(8)}`);
        expect(cos).toBeGreaterThanOrEqual(0.99999);
      });
    }
    expect(m.card.runsOn).toContain("KServe v2");
  });

  it("400 when the inputs' patch counts (or batches) disagree", async () => {
    const B = 1;
    const bad = encodeInferRequest(
      {
        pixel_values: tensor("float32", [B, 256, 48], new Float32Array(256 * 48)),
        pixel_attention_mask: tensor("int64", [B, 255], new BigInt64Array(255)),
        position_embeddings: tensor("float32", [B, 256, 64], new Float32Array(256 * 64)),
      },
      { binary: true },
    );
    const r = await fetch(`${backend.url}/v2/models/tiny-naflex-vision/infer`, { method: "POST", headers: bad.headers, body: bad.body });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/pixel_attention_mask: shape \[1,255\] does not match \[-1,-1\] \(dynamic dimensions shared by every input\)/);
  });
});

describe("NaFlex in the Triton repository", () => {
  it("declares the three inputs with the patch count as -1 (no ensemble, no pixel model)", async () => {
    const out = await mkdtemp(join(tmpdir(), "siglip-triton-naflex-"));
    const res = await writeTritonRepo([{ dir, name: "nf" }], out);
    expect(res.models.map((m) => m.name)).toEqual(["nf-vision", "nf-text"]);
    expect((await readdir(join(out, "nf-vision", "1"))).sort()).toEqual(["model.onnx", "vision.onnx.data"]);
    const v = await readModelConfig(out, "nf-vision");
    expect(v).toContain('name: "pixel_values"\n    data_type: TYPE_FP32\n    dims: [ -1, 48 ]');
    expect(v).toContain('name: "pixel_attention_mask"\n    data_type: TYPE_INT64\n    dims: [ -1 ]');
    expect(v).toContain('name: "position_embeddings"\n    data_type: TYPE_FP32\n    dims: [ -1, 64 ]');
    expect(v).toMatch(/# NaFlex: the patch count N/);
  });
});
