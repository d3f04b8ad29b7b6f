/**
 * Interop: @huggingface/transformers (Node, remote loading off) loads the transformers.js-layout export from a local
 * folder and gives the same embeddings as our runtime and as the Python reference.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { cosine, hasErrorCode } from "@siglip-edge/core";
import { exportTransformersJs } from "@siglip-edge/export";
import { engineTowers, openModel } from "../src/index.ts";
import { createNodeEngine, fsBundleSource } from "../src/node/index.ts";
import { bundle, checkpoint, embedGoldenImages, golden, idRows, removeTmp } from "./goldens.ts";

afterAll(removeTmp);

describe("transformers.js interop", () => {
  it("loads the export locally and agrees with our runtime and the reference (cosine >= 0.99999)", async () => {
    const preset = "tiny-fixres";
    const tmp = await mkdtemp(join(tmpdir(), "siglip-tjs-"));
    onTestFinished(() => rm(tmp, { recursive: true, force: true }));
    const out = join(tmp, "tiny-fixres-tjs");
    const files = await exportTransformersJs(await checkpoint(preset), out);
    expect(files).toContain("onnx/vision_model.onnx");
    const tjs = await import("@huggingface/transformers");
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = dirname(out);
    const vision = await tjs.SiglipVisionModel.from_pretrained(basename(out), { dtype: "fp32", device: "cpu" });
    const text = await tjs.SiglipTextModel.from_pretrained(basename(out), { dtype: "fp32", device: "cpu" });
    const pv = golden(preset, "pixel_values");
    const ids = golden(preset, "input_ids");
    const vOut = (await vision({ pixel_values: new tjs.Tensor("float32", pv.data as Float32Array, [...pv.dims]) })) as Record<string, { data: Float32Array; dims: number[] }>;
    const tOut = (await text({ input_ids: new tjs.Tensor("int64", ids.data as BigInt64Array, [...ids.dims]) })) as Record<string, { data: Float32Array; dims: number[] }>;
    const m = await openModel({ source: fsBundleSource(await bundle(preset)), towers: engineTowers(createNodeEngine(), { textGraph: "text" }) });
    const ours = { img: (await embedGoldenImages(m, preset)).data, txt: (await m.runTokenIds(idRows(ids))).embeddings.data };
    const ref = { img: golden(preset, "image_pooled").data as Float32Array, txt: golden(preset, "text_pooled").data as Float32Array };
    const minCos = (a: Float32Array, b: Float32Array, D: number): number => {
      let c = 1;
      for (let r = 0; r < a.length / D; r++) c = Math.min(c, cosine(a.subarray(r * D, (r + 1) * D), b.subarray(r * D, (r + 1) * D)));
      return c;
    };
    const vp = vOut["pooler_output"] as { data: Float32Array; dims: number[] };
    const tp = tOut["pooler_output"] as { data: Float32Array; dims: number[] };
    const D = vp.dims[1] as number;
    const figures = {
      imageVsOurs: minCos(vp.data, ours.img, D),
      textVsOurs: minCos(tp.data, ours.txt, D),
      imageVsRef: minCos(vp.data, ref.img, D),
      textVsRef: minCos(tp.data, ref.txt, D),
    };
    console.log(`[export transformers.js] min cos: image vs ours ${figures.imageVsOurs.toFixed(8)}, text vs ours ${figures.textVsOurs.toFixed(8)}, image vs reference ${figures.imageVsRef.toFixed(8)}, text vs reference ${figures.textVsRef.toFixed(8)}`);
    for (const v of Object.values(figures)) expect(v).toBeGreaterThanOrEqual(0.99999);
    expect(vOut["last_hidden_state"]?.dims).toEqual([pv.dims[0], 36, D]);
    await vision.dispose();
    await text.dispose();
  });

  it("refuses NaFlex checkpoints (transformers.js has no siglip2 model)", async () => {
    const err = await exportTransformersJs(await checkpoint("tiny-naflex"), join(tmpdir(), "never")).catch((e: unknown) => e);
    expect(hasErrorCode(err, "INVALID_ARGUMENT")).toBe(true);
  });
});
