/**
 * The kernels engine (W8A12 WebAssembly kernels reading an int8 bundle's kernels files) against onnxruntime-web
 * running the fp32 graphs of the same checkpoint: whole towers and a 2-stage split on tiny FixRes and NaFlex
 * bundles, and a B/16-wide one-layer checkpoint with planted activation outliers. Bad bundles fail at load with
 * typed errors.
 */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import { beforeAll, describe, expect, it } from "vitest";
import { cosine, type BundleManifest } from "@siglip-edge/core";
import { createKernelsEngine, engineTowers, kernelsSupport, openModel, readManifest, type EngineTowers, type InferenceEngine, type ModelPipeline } from "../src/index.ts";
import { createKernelsEngineForNode, createWebEngineForNode, fsBundleSource, initNodeDecoders } from "../src/node/index.ts";
import { loadKernels } from "@siglip-edge/kernels/node";
import { mulberry32 } from "./seeded.ts";

const root = mkdtempSync(join(tmpdir(), "siglip-kernels-engine-"));
const photos = ["coins.png", "chelsea.png"].map((f) => new Uint8Array(readFileSync(join(import.meta.dirname, "..", "..", "..", "fixtures", "photos", "skimage", f))));

/** A B/16-wide checkpoint cut to one layer per tower and a small image and vocabulary (weights drawn as B/16's). */
const B16_ONE_LAYER = {
  model_type: "siglip",
  text_config: { vocab_size: 1000, hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 1, num_attention_heads: 12 },
  vision_config: { image_size: 64, patch_size: 16, hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 1, num_attention_heads: 12 },
};

const CASES = {
  fixres: { preset: "tiny-fixres" as unknown, outliers: false },
  naflex: { preset: "tiny-naflex" as unknown, outliers: false },
  b16: { preset: B16_ONE_LAYER as unknown, outliers: false },
  "b16-outliers": { preset: B16_ONE_LAYER as unknown, outliers: true },
};
type CaseName = keyof typeof CASES;
const dirs = (name: CaseName) => ({ fp32: join(root, name, "fp32"), int8: join(root, name, "int8") });

beforeAll(async () => {
  for (const [name, c] of Object.entries(CASES) as [CaseName, (typeof CASES)[CaseName]][]) {
    const ck = join(root, name, "ck");
    await generateCheckpoint(ck, c.preset, { seed: 11, ...(c.outliers ? { outliers: { channels: 6, gain: 30 } } : {}) });
    const d = dirs(name);
    await convertCheckpoint(ck, d.fp32, { stages: name.startsWith("b16") ? 1 : 2 });
    await convertCheckpoint(ck, d.int8, { dtype: "int8", stages: name.startsWith("b16") ? 1 : 2 });
  }
}, 600_000);

const open = (dir: string, engine: InferenceEngine | readonly InferenceEngine[], stage?: number): Promise<ModelPipeline<EngineTowers>> =>
  openModel({ source: fsBundleSource(dir), towers: engineTowers(engine, stage === undefined ? {} : { stage }), runsOn: "test", initDecoders: initNodeDecoders });

function tokenIds(T: number, seed: number): Int32Array[] {
  const rnd = mulberry32(seed);
  return [0, 1].map(() => Int32Array.from({ length: T }, () => Math.floor(rnd() * 1000)));
}

let kernels: InferenceEngine;
let web: InferenceEngine;
beforeAll(async () => {
  kernels = await createKernelsEngineForNode();
  web = await createWebEngineForNode();
});

describe("kernels engine vs onnxruntime-web fp32", () => {
  it.each(["fixres", "naflex", "b16", "b16-outliers"] as const)("%s: whole towers, images and text, cosine >= the bound", async (name) => {
    const d = dirs(name);
    const manifest = await readManifest(fsBundleSource(d.int8));
    expect(kernelsSupport(manifest)).toBe(true);
    expect(manifest.files.filter((f) => f.role === "kernels").map((f) => f.path)).toEqual(["vision.kernels.bin", "text_split.kernels.bin"]);
    const [ours, ref] = await Promise.all([open(d.int8, kernels), open(d.fp32, web)]);
    const bound = name.startsWith("b16") ? 0.999 : 0.9995;
    const imgs = await ours.embedImages(photos);
    const refImgs = await ref.embedImages(photos);
    const ids = tokenIds(manifest.text.maxLength, 5);
    const txt = (await ours.embedTokenIds(ids)).embeddings;
    const refTxt = (await ref.embedTokenIds(ids)).embeddings;
    for (let i = 0; i < 2; i++) {
      const ci = cosine(imgs[i] as Float32Array, refImgs[i] as Float32Array);
      const ct = cosine(txt[i] as Float32Array, refTxt[i] as Float32Array);
      console.log(`[kernels] ${name} input ${i}: image cosine ${ci.toFixed(7)}, text cosine ${ct.toFixed(7)}`);
      expect(ci).toBeGreaterThanOrEqual(bound);
      expect(ct).toBeGreaterThanOrEqual(bound);
    }
  }, 300_000);

  it.each(["fixres", "naflex"] as const)("%s: stage 0 -> stage 1 on the kernels equals the fp32 whole tower", async (name) => {
    const d = dirs(name);
    const [s0, s1, ref] = await Promise.all([open(d.int8, kernels, 0), open(d.int8, kernels, 1), open(d.fp32, web)]);
    const hidden = await s0.imagesToStage(photos);
    if (hidden.kind !== "hidden") throw new Error("stage 0 of 2 must return hidden states");
    const p = await s0.prepareImages(photos, 0);
    const out = await s1.continueStage("vision", hidden.hidden, p.kind === "naflex" ? p.grids : undefined);
    if (out.kind !== "embeddings") throw new Error("stage 1 of 2 must return embeddings");
    const refImgs = await ref.embedImages(photos);
    const ids = tokenIds(64, 9);
    const th = await s0.tokenIdsToStage(ids);
    if (th.kind !== "hidden") throw new Error("stage 0 of 2 must return hidden states");
    const tout = await s1.continueStage("textSplit", th.hidden);
    if (tout.kind !== "embeddings") throw new Error("stage 1 of 2 must return embeddings");
    const refTxt = (await ref.embedTokenIds(ids)).embeddings;
    const D = out.embeddings.dims[1] as number;
    const P = tout.embeddings.dims[1] as number;
    for (let i = 0; i < 2; i++) {
      const ci = cosine(out.embeddings.data.subarray(i * D, (i + 1) * D), refImgs[i] as Float32Array);
      const ct = cosine(tout.embeddings.data.subarray(i * P, (i + 1) * P), refTxt[i] as Float32Array);
      console.log(`[kernels] ${name} staged input ${i}: image cosine ${ci.toFixed(7)}, text cosine ${ct.toFixed(7)}`);
      expect(ci).toBeGreaterThanOrEqual(0.9995);
      expect(ct).toBeGreaterThanOrEqual(0.9995);
    }
  }, 300_000);
});

describe("engine choice", () => {
  it("engineTowers([kernels, web]) runs int8 bundles with kernels files on the kernels and others on onnxruntime-web", async () => {
    const both = [kernels, web];
    const [q, f] = await Promise.all([open(dirs("fixres").int8, both), open(dirs("fixres").fp32, both)]);
    expect(q.towers.engine.name).toBe("siglip-kernels-w8a12");
    expect(f.towers.engine.name).toBe(web.name);
    await expect(openModel({ source: fsBundleSource(dirs("fixres").fp32), towers: engineTowers([kernels]), initDecoders: initNodeDecoders })).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
  });
});

describe("bad bundles fail at load with typed errors", () => {
  const session = async (dir: string, graph = "vision.onnx", manifest?: BundleManifest) => {
    const source = fsBundleSource(dir);
    const m = manifest ?? (await readManifest(source));
    return createKernelsEngine(await loadKernels()).createSession({ kind: "bundle", source, manifest: m, graph, data: `${graph}.data` });
  };
  const copy = (name: string): string => {
    const to = join(root, `bad-${name}`);
    cpSync(dirs("fixres").int8, to, { recursive: true });
    return to;
  };

  it("a non-int8 bundle (no kernels files) and a graph without one: MODEL_LOAD_FAILED", async () => {
    const m = await readManifest(fsBundleSource(dirs("fixres").fp32));
    expect(kernelsSupport(m)).toBe(false);
    expect(createKernelsEngine(await loadKernels()).supports(m)).toBe(false);
    await expect(session(dirs("fixres").fp32)).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
    await expect(session(dirs("fixres").int8, "text.onnx")).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
  });

  it("a truncated kernels file: INTEGRITY_MISMATCH", async () => {
    const dir = copy("truncated");
    const f = join(dir, "vision.kernels.bin");
    truncateSync(f, readFileSync(f).byteLength - 100);
    await expect(session(dir)).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
  });

  it("a corrupted header: CHECKPOINT_INVALID; a corrupted block: INTEGRITY_MISMATCH", async () => {
    const dir = copy("header");
    const f = join(dir, "vision.kernels.bin");
    const bytes = new Uint8Array(readFileSync(f));
    const good = bytes.slice();
    bytes[0] = 0x58; // magic
    writeFileSync(f, bytes);
    await expect(session(dir)).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    const text = new TextDecoder().decode(good);
    const at = text.indexOf('"hidden":96');
    expect(at).toBeGreaterThan(0);
    const wrongShape = good.slice();
    wrongShape.set(new TextEncoder().encode('"hidden":88'), at); // same length, a shape the blocks do not have
    writeFileSync(f, wrongShape);
    await expect(session(dir)).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    const json = good.slice();
    json[20] = 0x7b; // '{' inside the JSON: no longer parses
    writeFileSync(f, json);
    await expect(session(dir)).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    const block = good.slice();
    const last = block.length - 8;
    block[last] = (block[last] as number) ^ 0xff;
    writeFileSync(f, block);
    await expect(session(dir)).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
    copyFileSync(join(dirs("fixres").int8, "vision.kernels.bin"), f);
    await expect(session(dir)).resolves.toBeDefined();
  });

  it("a kernels file of the other tower (header not the manifest's): CHECKPOINT_INVALID", async () => {
    const dir = copy("swapped");
    const m = await readManifest(fsBundleSource(dir));
    const k = m.kernels as NonNullable<BundleManifest["kernels"]>;
    const swapped: BundleManifest = { ...m, kernels: { ...k, vision: k.textSplit } };
    await expect(session(dir, "vision.onnx", swapped)).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
  });
});
