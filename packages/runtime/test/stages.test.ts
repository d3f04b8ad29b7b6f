/**
 * Staged serving on both engines: a tiny bundle converted with two stages per tower, run as stage pipelines (stage 0
 * then stage 1, hidden states in between) gives the whole-tower embeddings; stage sessions read the tower's data file.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import { beforeAll, describe, expect, it } from "vitest";
import { cosine, maxAbsDiff } from "@siglip-edge/core";
import { engineTowers, openModel, type EngineTowers, type InferenceEngine, type ModelPipeline } from "../src/index.ts";
import { createNodeEngine, createWebEngineForNode, fsBundleSource, initNodeDecoders } from "../src/node/index.ts";
import { preprocessFixResRgb } from "@siglip-edge/preprocess";
import { mulberry32 } from "./seeded.ts";

const root = mkdtempSync(join(tmpdir(), "siglip-stages-"));
const dir = join(root, "bundle");
const photo = new Uint8Array(readFileSync(join(import.meta.dirname, "..", "..", "..", "fixtures", "photos", "skimage", "coins.png")));

beforeAll(async () => {
  await generateCheckpoint(join(root, "ck"), "tiny-fixres", { seed: 11 });
  await convertCheckpoint(join(root, "ck"), dir, { stages: 2 });
}, 120_000);

const open = (engine: InferenceEngine, stage?: number): Promise<ModelPipeline<EngineTowers>> =>
  openModel({ source: fsBundleSource(dir), towers: engineTowers(engine, stage === undefined ? {} : { stage }), runsOn: "test", initDecoders: initNodeDecoders });

describe.each([
  ["onnxruntime-node", () => Promise.resolve(createNodeEngine())],
  ["onnxruntime-web", () => createWebEngineForNode()],
] as const)("stages on %s", (name, engine) => {
  it("stage 0 -> stage 1 equals the whole tower, for images and token ids", async () => {
    const e = await engine();
    const [whole, s0, s1] = await Promise.all([open(e), open(e, 0), open(e, 1)]);
    const rnd = mulberry32(3);
    const T = 64;
    const ids = [0, 1].map(() => Int32Array.from({ length: T }, () => Math.floor(rnd() * 1000)));

    const imgs = [photo, photo];
    const hidden = await s0.imagesToStage(imgs);
    expect(hidden.kind).toBe("hidden");
    if (hidden.kind !== "hidden") return;
    expect(hidden.hidden.dims[0]).toBe(2);
    const out = await s1.continueStage("vision", hidden.hidden);
    expect(out.kind).toBe("embeddings");
    if (out.kind !== "embeddings") return;
    const ref = await whole.embedImages(imgs);

    const th = await s0.tokenIdsToStage(ids);
    if (th.kind !== "hidden") throw new Error("stage 0 of 2 must return hidden states");
    expect(th.hidden.dims).toEqual([2, T, 64]);
    const tout = await s1.continueStage("textSplit", th.hidden);
    if (tout.kind !== "embeddings") throw new Error("stage 1 of 2 must return embeddings");
    const tref = (await whole.embedTokenIds(ids)).embeddings;

    const D = out.embeddings.dims[1] as number;
    expect(out.embeddings.dims).toEqual([2, D]);
    const row = (t: { data: Float32Array }, i: number) => t.data.subarray(i * D, (i + 1) * D);
    for (let i = 0; i < 2; i++) {
      const di = maxAbsDiff(row(out.embeddings, i), ref[i] as Float32Array);
      const dt = maxAbsDiff(row(tout.embeddings, i), tref[i] as Float32Array);
      console.log(`${name} staged vs whole, input ${i}: image max|d| ${di.toExponential(2)}, text max|d| ${dt.toExponential(2)}`);
      expect(cosine(row(out.embeddings, i), ref[i] as Float32Array)).toBeGreaterThanOrEqual(0.99999);
      expect(cosine(row(tout.embeddings, i), tref[i] as Float32Array)).toBeGreaterThanOrEqual(0.99999);
    }
  });

  it("sized images (decoded and resized by the API Worker) give the same embeddings as the encoded files", async () => {
    const e = await engine();
    const whole = await open(e);
    const S = 48; // tiny-fixres image size
    const sized = await preprocessFixResRgb(photo, { size: S, resample: "bilinear" });
    const [a, b] = await whole.embedImages([photo, sized]);
    expect(maxAbsDiff(a as Float32Array, b as Float32Array)).toBe(0);
    const wrong = [{ ...sized, width: S - 1 }, { ...sized, channels: 4 }, { ...sized, data: sized.data.subarray(1) }];
    for (const w of wrong) await expect(whole.embedImages([photo, w])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { imageIndex: 1 } });
    // Pixel buffers are reused between runs: concurrent and repeated calls still get their own images' embeddings.
    const other = new Uint8Array(readFileSync(join(import.meta.dirname, "..", "..", "..", "fixtures", "photos", "skimage", "chelsea.png")));
    const [x, y] = [(await whole.embedImages([other]))[0], (await whole.embedImages([photo]))[0]];
    const both = await Promise.all([whole.embedImages([other]), whole.embedImages([photo]), whole.embedImages([other])]);
    expect(maxAbsDiff(both[0]?.[0] as Float32Array, x as Float32Array)).toBe(0);
    expect(maxAbsDiff(both[1]?.[0] as Float32Array, y as Float32Array)).toBe(0);
    expect(maxAbsDiff(both[2]?.[0] as Float32Array, x as Float32Array)).toBe(0);
  });

  it("refuses work that is not its stage, and malformed hidden states", async () => {
    const e = await engine();
    const [s0, s1] = await Promise.all([open(e, 0), open(e, 1)]);
    await expect(s0.embedImages([photo])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(s1.imagesToStage([photo])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(s0.continueStage("vision", { dtype: "float32", dims: [1, 2, 3], data: new Float32Array(6) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(s1.continueStage("vision", { dtype: "float32", dims: [1, 2, 3], data: new Float32Array(6) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const s5 = await open(e, 5);
    await expect(s5.continueStage("vision", { dtype: "float32", dims: [1, 36, 96], data: new Float32Array(36 * 96) })).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
  });
});

describe("engines are picked by capability flags", () => {
  it("an engine that reads bundles itself (loads: bundle) gets each graph's name, data file, source and manifest", async () => {
    const node = createNodeEngine();
    const seen: string[] = [];
    // A stand-in for an engine that runs a bundle's packed weights: here it opens the named graph with
    // onnxruntime-node, so its answers can be compared with the real thing.
    const reader: InferenceEngine = {
      name: "bundle-reader",
      loads: ["bundle"],
      streamsExternalData: false,
      fillsOutputs: false,
      async createSession(model) {
        if (model.kind !== "bundle" || model.source.localPath === undefined) throw new Error(`expected a bundle, got ${model.kind}`);
        seen.push(`${model.graph} <- ${model.data} (${model.manifest.checkpoint.id})`);
        return node.createSession({ kind: "path", path: model.source.localPath(model.graph) });
      },
      nativeMemoryBytes: () => undefined,
    };
    const [mine, ref] = await Promise.all([open(reader), open(node)]);
    expect(await mine.embedImages([photo])).toEqual(await ref.embedImages([photo]));
    const ids = [Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 1000)];
    expect((await mine.embedTokenIds(ids)).embeddings).toEqual((await ref.embedTokenIds(ids)).embeddings);
    const s1 = await open(reader, 1);
    const hidden = await (await open(node, 0)).imagesToStage([photo]);
    if (hidden.kind !== "hidden") throw new Error("stage 0 of 2 must return hidden states");
    await s1.continueStage("vision", hidden.hidden);
    const id = (await open(node)).card.id;
    expect(seen).toEqual([`vision.onnx <- vision.onnx.data (${id})`, `text_split.onnx <- text_split.onnx.data (${id})`, `vision.stage1.onnx <- vision.onnx.data (${id})`]);
  });

  it("an engine that takes only paths refuses a source that has none, naming both", async () => {
    const pathsOnly: InferenceEngine = { name: "paths-only", loads: ["path"], createSession: (m) => createNodeEngine().createSession(m), streamsExternalData: false, fillsOutputs: false, nativeMemoryBytes: () => undefined };
    const { localPath: _drop, ...noPaths } = fsBundleSource(dir);
    const m = await openModel({ source: noPaths, towers: engineTowers(pathsOnly), initDecoders: initNodeDecoders });
    await expect(m.embedImages([photo])).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED", message: expect.stringMatching(/paths-only loads models from path; .* offers none of them/) });
  });
});
