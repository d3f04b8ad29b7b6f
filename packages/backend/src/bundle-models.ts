/**
 * The models a bundle contributes to a KServe v2 server, and their contract (runtime's `towerContracts`, the one
 * `KServeTowers` checks; Triton serves the same from the repository `siglip triton-repo` writes):
 * - `<name>-text` runs `text.onnx`: `input_ids` INT64 [-1, T] -> `pooler_output` FP32 [-1, D];
 * - FixRes `<name>-vision` runs `vision.onnx`: `pixel_values` FP32 [-1, 3, S, S] -> `pooler_output`, and
 *   `<name>-vision-u8` takes `pixels` UINT8 [-1, 3, S, S] through the pixel graph (pixel-graph.ts: the edge's own
 *   pixel table, in-graph) in front of `vision.onnx`;
 * - NaFlex `<name>-vision` runs `vision.onnx`: `pixel_values` FP32 [-1, -1, P·P·3], `pixel_attention_mask` INT64
 *   [-1, -1] and `position_embeddings` FP32 [-1, -1, D] (resized by the client) -> `pooler_output`.
 * -1 is a dynamic dimension: the batch, and for NaFlex the patch count N (the request's `max_num_patches`).
 * @module
 */
import { basename, resolve } from "node:path";
import { SiglipError, type BundleManifest } from "@siglip-edge/core";
import { readManifest, towerContracts, type KsDatatype, type TowerContract } from "@siglip-edge/runtime";
import { fsBundleSource } from "@siglip-edge/runtime/node";

export interface TensorSpec {
  name: string;
  datatype: KsDatatype;
  /** -1 marks a dynamic dimension (the batch first). */
  shape: number[];
}

export interface TowerModel {
  /** Backend model name, e.g. `tiny-fixres-vision`. */
  name: string;
  tower: "vision" | "text" | "vision-u8";
  /** Bundle directory and the graph file in it. */
  dir: string;
  graph: string;
  inputs: TensorSpec[];
  output: TensorSpec;
  manifest: BundleManifest;
}

export interface BundleSpec {
  dir: string;
  /** Model-name prefix; default the bundle folder's name. */
  name?: string;
}

/** The tower models of a bundle: vision and text, and (FixRes) vision behind the uint8 pixel graph. */
export async function towerModels(spec: BundleSpec): Promise<TowerModel[]> {
  const dir = resolve(spec.dir);
  const manifest = await readManifest(fsBundleSource(dir));
  const prefix = spec.name ?? basename(dir);
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new SiglipError("INVALID_ARGUMENT", `model name "${prefix}" must be letters, digits, _ . -`);
  const c = towerContracts(manifest, prefix);
  const model = (tower: TowerModel["tower"], t: TowerContract, graph: string): TowerModel => ({ name: t.model, tower, dir, graph, inputs: t.inputs, output: t.output, manifest });
  return [model("vision", c.vision, manifest.graphs.vision), model("text", c.text, manifest.graphs.text), ...(c.visionU8 ? [model("vision-u8", c.visionU8, manifest.graphs.vision)] : [])];
}
