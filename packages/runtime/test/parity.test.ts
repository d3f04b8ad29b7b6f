/**
 * Graph parity with the reference: fp32 bundles of the tiny FixRes and NaFlex goldens (converted by packages/export),
 * opened with `openModel` on onnxruntime-node and onnxruntime-web (wasm, in Node), on the exact model inputs the
 * Python reference used; text both through the split table (what the edge runs) and the graph with the table inside
 * (what a KServe backend serves).
 * Done-when: cosine >= 0.99999 and max |diff| <= 1e-4 on normalised embeddings, |diff| <= 1e-3 on logits.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cosine, l2NormalizeRows, maxAbsDiff, siglipLogits, type Tensor } from "@siglip-edge/core";
import { sha256File } from "@siglip-edge/export";
import { engineTowers, openModel, type InferenceEngine } from "../src/index.ts";
import { createNodeEngine, createWebEngineForNode, fsBundleSource } from "../src/node/index.ts";
import { bundle, checkpoint, embedGoldenImages, golden, goldenMeta, idRows, removeTmp } from "./goldens.ts";

afterAll(removeTmp);

function rows(t: Tensor): Float32Array[] {
  const [R, D] = t.dims as [number, number];
  const d = t.data as Float32Array;
  return Array.from({ length: R }, (_, r) => d.subarray(r * D, (r + 1) * D));
}

interface Figures {
  minCos: number;
  maxDiff: number;
}

function compare(ours: Tensor<"float32">, ref: Tensor): Figures {
  const a = rows(ours);
  const b = rows(ref);
  expect(a.length).toBe(b.length);
  let minCos = 1;
  let maxDiff = 0;
  a.forEach((r, i) => {
    minCos = Math.min(minCos, cosine(r, b[i] as Float32Array));
    maxDiff = Math.max(maxDiff, maxAbsDiff(r, b[i] as Float32Array));
  });
  return { minCos, maxDiff };
}

for (const preset of ["tiny-fixres", "tiny-naflex"]) {
  describe(`parity ${preset}`, () => {
    it("regenerates the exact weights the reference used (seeded generator)", async () => {
      const dir = await checkpoint(preset);
      expect(await sha256File(join(dir, "model.safetensors"))).toBe(goldenMeta(preset).weights_sha256);
    });

    for (const [backend, engine] of [["node", async () => createNodeEngine()], ["web", createWebEngineForNode]] as [string, () => Promise<InferenceEngine>][]) {
      it(`fp32 bundle in onnxruntime-${backend} matches transformers`, async () => {
        const dir = await bundle(preset);
        const e = await engine();
        const m = await openModel({ source: fsBundleSource(dir), towers: engineTowers(e) });
        const inline = await openModel({ source: fsBundleSource(dir), towers: engineTowers(e, { textGraph: "text" }) });
        const meta = goldenMeta(preset);
        const img = l2NormalizeRows(await embedGoldenImages(m, preset));
        const ids = idRows(golden(preset, "input_ids"));
        const txt = l2NormalizeRows((await inline.runTokenIds(ids)).embeddings);
        const split = l2NormalizeRows((await m.runTokenIds(ids)).embeddings);
        const fi = compare(img, golden(preset, "image_embeds"));
        const ft = compare(txt, golden(preset, "text_embeds"));
        const fs = compare(split, golden(preset, "text_embeds"));
        const logits = siglipLogits(img, txt, { logitScale: m.manifest.logitScale, logitBias: m.manifest.logitBias });
        const dl = maxAbsDiff(logits.data, golden(preset, "logits_per_image").data as Float32Array);
        expect(m.manifest.logitScale).toBeCloseTo(meta.logit_scale, 6);
        console.log(
          `[runtime parity] ${preset} ort-${backend}: image min cos ${fi.minCos.toFixed(8)} max|d| ${fi.maxDiff.toExponential(2)}; ` +
            `text min cos ${ft.minCos.toFixed(8)} max|d| ${ft.maxDiff.toExponential(2)}; split-table text max|d| ${fs.maxDiff.toExponential(2)}; ` +
            `logits max|d| ${dl.toExponential(2)} (${img.dims[0]} images x ${txt.dims[0]} texts)`,
        );
        for (const f of [fi, ft, fs]) {
          expect(f.minCos).toBeGreaterThanOrEqual(0.99999);
          expect(f.maxDiff).toBeLessThanOrEqual(1e-4);
        }
        expect(dl).toBeLessThanOrEqual(1e-3);
      }, 60_000);
    }
  });
}
