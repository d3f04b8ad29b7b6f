/**
 * Quantised variants (fp16 storage, int8 per-channel weights, 4-bit MatMulNBits): cosine of each variant's
 * embeddings to the fp32 bundle's, on the golden fixture inputs. Random weights: real checkpoints may differ.
 * Goals: int8 >= 0.999, q4 >= 0.99 (asserted with the goal as the bound).
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cosine, type Tensor, type WeightDType } from "@siglip-edge/core";
import { engineTowers, openModel } from "../src/index.ts";
import { createNodeEngine, createWebEngineForNode, fsBundleSource } from "../src/node/index.ts";
import { bundle, embedGoldenImages, golden, idRows, removeTmp } from "./goldens.ts";

afterAll(removeTmp);

const GOAL: Record<WeightDType, number> = { fp32: 1, fp16: 0.9999, int8: 0.999, q4: 0.99 };

function minRowCos(a: Tensor, b: Tensor): number {
  const D = a.dims[1] as number;
  let m = 1;
  for (let r = 0; r < (a.dims[0] as number); r++) {
    m = Math.min(m, cosine((a.data as Float32Array).subarray(r * D, (r + 1) * D), (b.data as Float32Array).subarray(r * D, (r + 1) * D)));
  }
  return m;
}

async function embeddings(preset: string, dtype: WeightDType, backend: "node" | "web" = "node"): Promise<{ img: Tensor; txt: Tensor; split: Tensor; bytes: number }> {
  const dir = await bundle(preset, dtype);
  const engine = backend === "node" ? createNodeEngine() : await createWebEngineForNode();
  const m = await openModel({ source: fsBundleSource(dir), towers: engineTowers(engine) });
  const inline = await openModel({ source: fsBundleSource(dir), towers: engineTowers(engine, { textGraph: "text" }) });
  const ids = idRows(golden(preset, "input_ids"));
  let bytes = 0;
  for (const f of m.manifest.files) if (f.role === "onnx-data" || f.role === "token-table") bytes += (await stat(join(dir, f.path))).size;
  return { img: await embedGoldenImages(m, preset), txt: (await inline.runTokenIds(ids)).embeddings, split: (await m.runTokenIds(ids)).embeddings, bytes };
}

for (const preset of ["tiny-fixres", "tiny-naflex"]) {
  describe(`quantised variants ${preset}`, () => {
    for (const dtype of ["fp16", "int8", "q4"] as WeightDType[]) {
      it(`${dtype}: cosine to fp32 meets the goal`, async () => {
        const ref = await embeddings(preset, "fp32");
        const q = await embeddings(preset, dtype);
        const ci = minRowCos(q.img, ref.img);
        const ct = minRowCos(q.txt, ref.txt);
        const cs = minRowCos(q.split, ref.split);
        console.log(
          `[runtime quant] ${preset} ${dtype}: min cos to fp32 image ${ci.toFixed(6)}, text ${ct.toFixed(6)}, split-table text ${cs.toFixed(6)}; ` +
            `weights ${(q.bytes / 1024).toFixed(0)} KiB vs fp32 ${(ref.bytes / 1024).toFixed(0)} KiB (random weights)`,
        );
        for (const c of [ci, ct, cs]) expect(c).toBeGreaterThanOrEqual(GOAL[dtype]);
        expect(ci).toBeLessThan(1); // the variant really changed the weights
        expect(q.bytes).toBeLessThan(ref.bytes);
      });
    }
    it("q4 runs in onnxruntime-web too (MatMulNBits in wasm) and agrees with onnxruntime-node", async () => {
      const n = await embeddings(preset, "q4");
      const w = await embeddings(preset, "q4", "web");
      const ci = minRowCos(n.img, w.img);
      const ct = minRowCos(n.txt, w.txt);
      console.log(`[runtime quant] ${preset} q4 ort-web vs ort-node: min cos image ${ci.toFixed(6)}, text ${ct.toFixed(6)} (different MatMulNBits kernels)`);
      expect(ci).toBeGreaterThan(0.999);
      expect(ct).toBeGreaterThan(0.999);
    });
  });
}
