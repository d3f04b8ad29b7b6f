/**
 * The models a bundle contributes to a KServe v2 server, and their contract (the one Triton serves from the
 * repository `siglip triton-repo` writes): `<name>-vision` runs `vision.onnx` (`pixel_values` FP32 [-1, 3, S, S] ->
 * `pooler_output` FP32 [-1, D]) and `<name>-text` runs `text.onnx` (`input_ids` INT64 [-1, T] -> `pooler_output` FP32
 * [-1, D]). `<name>-vision-u8` takes `pixels` UINT8 [-1, 3, S, S] and runs the pixel graph (pixel-graph.ts: the
 * edge's own pixel table, in-graph) in front of `vision.onnx`. -1 is the batch dimension.
 * @module
 */
import { basename, resolve } from "node:path";
import { SiglipError, type BundleManifest } from "@siglip-edge/core";
import { PIXELS_U8_INPUT, readManifest, towerModelNames, TOWER_OUTPUT, type KsDatatype } from "@siglip-edge/runtime";
import { fsBundleSource } from "@siglip-edge/runtime/node";

export interface TensorSpec {
  name: string;
  datatype: KsDatatype;
  /** -1 marks the batch dimension. */
  shape: number[];
}

export interface TowerModel {
  /** Backend model name, e.g. `tiny-fixres-vision`. */
  name: string;
  tower: "vision" | "text" | "vision-u8";
  /** Bundle directory and the graph file in it. */
  dir: string;
  graph: string;
  input: TensorSpec;
  output: TensorSpec;
  manifest: BundleManifest;
}

export interface BundleSpec {
  dir: string;
  /** Model-name prefix; default the bundle folder's name. */
  name?: string;
}

/** The tower models of a FixRes bundle: vision, text, and vision behind the uint8 pixel graph. */
export async function towerModels(spec: BundleSpec): Promise<TowerModel[]> {
  const dir = resolve(spec.dir);
  const manifest = await readManifest(fsBundleSource(dir));
  const pp = manifest.preprocessing;
  if (pp.kind !== "fixres") throw new SiglipError("INVALID_ARGUMENT", `${dir}: NaFlex bundles are not served by the backend yet (FixRes only)`);
  const prefix = spec.name ?? basename(dir);
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new SiglipError("INVALID_ARGUMENT", `model name "${prefix}" must be letters, digits, _ . -`);
  const names = towerModelNames(prefix);
  const D = manifest.sizes.embedDim;
  const output: TensorSpec = { name: TOWER_OUTPUT, datatype: "FP32", shape: [-1, D] };
  return [
    { name: names.vision, tower: "vision", dir, graph: manifest.graphs.vision, input: { name: "pixel_values", datatype: "FP32", shape: [-1, 3, pp.imageSize, pp.imageSize] }, output, manifest },
    { name: names.text, tower: "text", dir, graph: manifest.graphs.text, input: { name: "input_ids", datatype: "INT64", shape: [-1, manifest.text.maxLength] }, output, manifest },
    { name: names.visionU8, tower: "vision-u8", dir, graph: manifest.graphs.vision, input: { name: PIXELS_U8_INPUT, datatype: "UINT8", shape: [-1, 3, pp.imageSize, pp.imageSize] }, output, manifest },
  ];
}
