/**
 * The exporter's reference goldens (fixtures/goldens/export, from tools/reference/export_goldens.py) and the bundles
 * they describe, from `@siglip-edge/export/testing` (checkpoints regenerated from the goldens' seeds and converted,
 * once per test file), and how the parity tests feed them: images go in as the reference's own model inputs (FixRes
 * pixel values, NaFlex patches), through the towers.
 */
import type { Tensor } from "@siglip-edge/core";
import { golden } from "@siglip-edge/export/testing";
import type { EngineTowers, ModelPipeline } from "../src/index.ts";

export { bundle, checkpoint, golden, goldenMeta, GOLDENS, removeTmp, stagedBundle, type GoldenMeta } from "@siglip-edge/export/testing";

/** Rows of an int64 [B, T] golden as int32 token id rows. */
export function idRows(t: Tensor): Int32Array[] {
  const [B, T] = t.dims as [number, number];
  const d = t.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Int32Array.from(d.subarray(b * T, (b + 1) * T), Number));
}

/** Runs the golden image inputs (FixRes pixel values or NaFlex patches) through a model's towers: pooler_output [I, D]. */
export async function embedGoldenImages(m: ModelPipeline<EngineTowers>, preset: string): Promise<Tensor<"float32">> {
  const pv = golden(preset, "pixel_values") as Tensor<"float32">;
  if (m.manifest.family === "fixres") return m.towers.pixelValues(pv);
  return m.towers.naflexBatch({
    pixelValues: pv,
    pixelAttentionMask: golden(preset, "pixel_attention_mask") as Tensor<"int32">,
    spatialShapes: golden(preset, "spatial_shapes") as Tensor<"int64">,
  });
}
