/**
 * The Triton repository generator: layout (`<model>/config.pbtxt`, `<model>/1/model.onnx` + external weights),
 * config contents (backend, batching, instance groups, TensorRT FP16), and the copied graphs running under their new
 * names with the same outputs as the bundle's.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tensor } from "@siglip-edge/core";
import { PIXEL_LUT } from "@siglip-edge/preprocess";
import { createNodeEngine } from "@siglip-edge/runtime/node";
import { beforeAll, describe, expect, it } from "vitest";
import { modelConfig, readModelConfig, towerModels, writeTritonRepo } from "../src/index.ts";
import { tinyBundle } from "./fixtures.ts";

let dir = "";
let out = "";

beforeAll(async () => {
  dir = await tinyBundle();
  out = await mkdtemp(join(tmpdir(), "siglip-triton-repo-"));
});

describe("siglip triton-repo", () => {
  it("writes both towers with config.pbtxt, model.onnx and its weights", async () => {
    const res = await writeTritonRepo([{ dir, name: "tiny" }], out);
    expect(res.models.map((m) => m.name)).toEqual(["tiny-vision", "tiny-text", "tiny-vision-u8", "tiny-pixels"]);
    expect((await readdir(join(out, "tiny-vision", "1"))).sort()).toEqual(["model.onnx", "vision.onnx.data"]);
    expect((await readdir(join(out, "tiny-text", "1"))).sort()).toEqual(["model.onnx", "text.onnx.data"]);
    expect((await readdir(join(out, "tiny-pixels", "1"))).sort()).toEqual(["model.onnx"]);
    expect(await readdir(join(out, "tiny-vision-u8", "1"))).toEqual([]); // ensembles have an empty version folder
    expect((await readdir(out)).sort()).toEqual(["README.md", "tiny-pixels", "tiny-text", "tiny-vision", "tiny-vision-u8"]);
  });

  it("config.pbtxt: onnxruntime backend, max batch, the contract without the batch dim, dynamic batching, instances", async () => {
    const v = await readModelConfig(out, "tiny-vision");
    expect(v).toContain('name: "tiny-vision"\nbackend: "onnxruntime"\nmax_batch_size: 64\n');
    expect(v).toContain('name: "pixel_values"\n    data_type: TYPE_FP32\n    dims: [ 3, 48, 48 ]');
    expect(v).toContain('name: "pooler_output"\n    data_type: TYPE_FP32\n    dims: [ 96 ]');
    expect(v).toContain("dynamic_batching {\n  preferred_batch_size: [ 16, 32, 64 ]\n  max_queue_delay_microseconds: 2000\n}");
    expect(v).toContain("count: 1\n    kind: KIND_GPU");
    expect(v).not.toContain("tensorrt");
    const t = await readModelConfig(out, "tiny-text");
    expect(t).toContain('name: "input_ids"\n    data_type: TYPE_INT64\n    dims: [ 64 ]');
    // Balanced braces and brackets: a cheap well-formedness check of the text format.
    for (const c of [v, t]) {
      const body = c.replace(/#.*$/gm, "").replace(/"[^"]*"/g, "");
      expect(body.split("{").length).toBe(body.split("}").length);
      expect(body.split("[").length).toBe(body.split("]").length);
    }
  });

  it("the uint8 path: an ensemble of the pixel-table model and the vision tower", async () => {
    const e = await readModelConfig(out, "tiny-vision-u8");
    expect(e).toContain('name: "tiny-vision-u8"\nplatform: "ensemble"\nmax_batch_size: 64\n');
    expect(e).toContain('name: "pixels"\n    data_type: TYPE_UINT8\n    dims: [ 3, 48, 48 ]');
    expect(e).toMatch(/model_name: "tiny-pixels"[\s\S]*model_name: "tiny-vision"/);
    const p = await readModelConfig(out, "tiny-pixels");
    expect(p).toContain('backend: "onnxruntime"');
    expect(p).toContain('name: "pixel_values"\n    data_type: TYPE_FP32\n    dims: [ 3, 48, 48 ]');
  });

  it("the pixel-table graph gives the edge's float pixels bit for bit, for all 256 sample values", async () => {
    const engine = createNodeEngine();
    const s = await engine.createSession({ kind: "path", path: join(out, "tiny-pixels", "1", "model.onnx") });
    const n = 3 * 48 * 48;
    const u8 = new Uint8Array(2 * n).map((_, i) => i % 256); // [2, 3, 48, 48], every value many times
    const r = await s.run({ pixels: tensor("uint8", [2, 3, 48, 48], u8) }, ["pixel_values"]);
    const f = r["pixel_values"]?.data as Float32Array;
    const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
    const want = Float32Array.from(u8, (v) => PIXEL_LUT[v] as number);
    expect(Array.from(bits(f))).toEqual(Array.from(bits(want)));
    await s.release();
  });

  it("options: CPU instances, batch sizes, TensorRT FP16 (GPU only)", async () => {
    const [vision] = await towerModels({ dir });
    if (vision === undefined) throw new Error("no model");
    const cpu = modelConfig(vision, { kind: "KIND_CPU", instances: 2, maxBatchSize: 8, maxQueueDelayUs: 500 });
    expect(cpu).toContain("max_batch_size: 8\n");
    expect(cpu).toContain("preferred_batch_size: [ 8 ]");
    expect(cpu).toContain("count: 2\n    kind: KIND_CPU");
    const trt = modelConfig(vision, { tensorrtFp16: true });
    expect(trt).toContain('name : "tensorrt"');
    expect(trt).toContain('parameters { key: "precision_mode" value: "FP16" }');
    expect(() => modelConfig(vision, { tensorrtFp16: true, kind: "KIND_CPU" })).toThrow(/GPU/);
    expect(() => modelConfig(vision, { maxBatchSize: 4, preferredBatchSizes: [8] })).toThrow(/not in 1..4/);
  });

  it("the copied graphs load from the repository and give the bundle's outputs", async () => {
    const engine = createNodeEngine();
    const ids = new BigInt64Array(2 * 64).map((_, i) => BigInt(i % 7));
    const feeds = { input_ids: tensor("int64", [2, 64], ids) };
    const a = await engine.createSession({ kind: "path", path: join(dir, "text.onnx") });
    const b = await engine.createSession({ kind: "path", path: join(out, "tiny-text", "1", "model.onnx") });
    const ra = await a.run(feeds, ["pooler_output"]);
    const rb = await b.run(feeds, ["pooler_output"]);
    expect(Array.from(rb["pooler_output"]?.data as Float32Array)).toEqual(Array.from(ra["pooler_output"]?.data as Float32Array));
    await a.release();
    await b.release();
  });

  it("refuses two bundles with the same model names", async () => {
    await expect(writeTritonRepo([{ dir }, { dir }], out)).rejects.toThrow(/name them apart/);
  });
});
