/**
 * NaFlex end to end in the runtime: image files of several aspect ratios (3:1, 1:1, 1:4, a 1-pixel-high strip) through
 * `ModelPipeline` (decode, NaFlex resize for the request's `max_num_patches`, patches, position embeddings resized
 * from the bundle's grid, the vision graph) on both engines equal Hugging Face's Siglip2ImageProcessor + Siglip2Model
 * (fixtures/goldens/naflex, tools/reference/naflex_goldens.py) at two patch budgets; mixed grids in one batch, sized
 * images (what the API Worker sends), stage 0 -> stage 1 with the patch grids, and the budget checks.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cosine, maxAbsDiff } from "@siglip-edge/core";
import { convertCheckpoint, sha256File } from "@siglip-edge/export";
import { naflexPatchify, preprocessNaFlexRgb } from "@siglip-edge/preprocess";
import { engineTowers, openModel, type EngineTowers, type InferenceEngine, type ModelPipeline } from "../src/index.ts";
import { createNodeEngine, createWebEngineForNode, fsBundleSource, initNodeDecoders } from "../src/node/index.ts";
import { bundle, checkpoint, removeTmp } from "./goldens.ts";

afterAll(removeTmp);

const DIR = join(import.meta.dirname, "..", "..", "..", "fixtures", "goldens", "naflex");
interface Case {
  image: string;
  maxNumPatches: number;
  spatialShape: [number, number];
  pixelValuesSha256: string;
  imageEmbeds: number[];
}
const G = JSON.parse(readFileSync(join(DIR, "goldens.json"), "utf8")) as { preset: string; weights_sha256: string; patch_size: number; budgets: number[]; cases: Case[] };
const file = (name: string) => new Uint8Array(readFileSync(join(DIR, "images", name)));
const names = [...new Set(G.cases.map((c) => c.image))];

const open = async (engine: InferenceEngine, dir?: string, stage?: number): Promise<ModelPipeline<EngineTowers>> =>
  openModel({ source: fsBundleSource(dir ?? (await bundle(G.preset))), towers: engineTowers(engine, stage === undefined ? {} : { stage }), runsOn: "test", initDecoders: initNodeDecoders });

describe("NaFlex goldens", () => {
  it("come from the weights the tests regenerate, and cover 4 aspect ratios at 2 budgets", async () => {
    expect(await sha256File(join(await checkpoint(G.preset), "model.safetensors"))).toBe(G.weights_sha256);
    expect(names).toHaveLength(4);
    expect(G.budgets).toEqual([256, 1024]);
  });

  it("the NaFlex resize + patches equal the processor's pixel values (grid and sha256 of the real rows)", async () => {
    await initNodeDecoders();
    for (const c of G.cases) {
      const r = await preprocessNaFlexRgb(file(c.image), { patchSize: G.patch_size, maxNumPatches: c.maxNumPatches });
      const x = naflexPatchify(r, c.maxNumPatches, G.patch_size);
      expect(x.spatialShape, c.image).toEqual(c.spatialShape);
      const real = x.pixelValues.subarray(0, c.spatialShape[0] * c.spatialShape[1] * G.patch_size ** 2 * 3);
      expect(createHash("sha256").update(new Uint8Array(real.buffer, real.byteOffset, real.byteLength)).digest("hex"), `${c.image} N=${c.maxNumPatches}`).toBe(c.pixelValuesSha256);
    }
  });
});

describe.each([
  ["onnxruntime-node", () => Promise.resolve(createNodeEngine())],
  ["onnxruntime-web", () => createWebEngineForNode()],
] as const)("NaFlex on %s", (name, engine) => {
  it("image files at two max_num_patches equal Siglip2Model (cosine >= 0.99999), one batch of mixed grids", async () => {
    const m = await open(await engine());
    expect(m.card.naflex).toEqual({ patchSize: G.patch_size, defaultPatches: 256, allowedPatches: [256, 576, 784, 1024] });
    for (const N of G.budgets) {
      const vecs = await m.embedImages(names.map(file), N === 256 ? {} : { maxNumPatches: N }); // 256: the default
      names.forEach((n, i) => {
        const c = G.cases.find((x) => x.image === n && x.maxNumPatches === N) as Case;
        const cos = cosine(vecs[i] as Float32Array, c.imageEmbeds);
        console.log(`[naflex] ${name} ${n} N=${N} grid ${c.spatialShape.join("x")}: cosine ${cos.toFixed(8)}`);
        expect(cos).toBeGreaterThanOrEqual(0.99999);
      });
    }
    // The budgets differ in the embedding (the test could not pass with N ignored).
    const [a] = await m.embedImages([file("wide-3x1.png")], { maxNumPatches: 256 });
    const [b] = await m.embedImages([file("wide-3x1.png")], { maxNumPatches: 1024 });
    expect(cosine(a as Float32Array, b as Float32Array)).toBeLessThan(0.9999);
  });

  it("sized images (the API Worker's wire format) equal the files, and stage 0 -> stage 1 with patch grids equals the whole tower", async () => {
    const e = await engine();
    const m = await open(e);
    const files = names.map(file);
    const sized = await Promise.all(files.map((f) => preprocessNaFlexRgb(f, { patchSize: G.patch_size, maxNumPatches: 576 })));
    const fromFiles = await m.embedImages(files, { maxNumPatches: 576 });
    const fromSized = await m.embedImages(sized, { maxNumPatches: 576 });
    fromFiles.forEach((v, i) => expect(maxAbsDiff(v, fromSized[i] as Float32Array)).toBe(0));
    // A sized image that does not fit the budget is refused with its index.
    await expect(m.embedImages([files[0]!, sized[1]!], { maxNumPatches: 256 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { imageIndex: 1 } });

    const root = mkdtempSync(join(tmpdir(), "siglip-naflex-stages-"));
    await convertCheckpoint(await checkpoint(G.preset), join(root, "b"), { stages: 2 });
    const [s0, s1] = [await open(e, join(root, "b"), 0), await open(e, join(root, "b"), 1)];
    const h = await s0.imagesToStage(files, { maxNumPatches: 576 });
    if (h.kind !== "hidden") throw new Error("stage 0 of 2 must return hidden states");
    expect(h.hidden.dims).toEqual([4, 576, 64]);
    const p = await s0.prepareImages(files, 0, { maxNumPatches: 576 });
    const grids = p.kind === "naflex" ? p.grids : [];
    await expect(s1.continueStage("vision", h.hidden)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" }); // the mask is needed
    const out = await s1.continueStage("vision", h.hidden, grids);
    if (out.kind !== "embeddings") throw new Error("stage 1 of 2 must return embeddings");
    const D = 64;
    fromFiles.forEach((v, i) => expect(cosine(out.embeddings.data.subarray(i * D, (i + 1) * D), v)).toBeGreaterThanOrEqual(0.99999));
  });

  it("max_num_patches outside the model's budgets, or on a FixRes model, is INVALID_ARGUMENT naming the field", async () => {
    const e = await engine();
    const m = await open(e);
    await expect(m.embedImages([file("wide-3x1.png")], { maxNumPatches: 300 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { param: "max_num_patches" } });
    const fixres = await openModel({ source: fsBundleSource(await bundle("tiny-fixres")), towers: engineTowers(e), initDecoders: initNodeDecoders });
    expect(fixres.card.naflex).toBeUndefined();
    expect(fixres.card.imageSize).toBe(48);
    await expect(fixres.embedImages([file("wide-3x1.png")], { maxNumPatches: 256 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { param: "max_num_patches" } });
  });
});
