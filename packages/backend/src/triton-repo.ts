/**
 * `siglip triton-repo`: writes an NVIDIA Triton model repository for bundles, two models per bundle with the
 * contract of bundle-models.ts (`<name>-vision`, `<name>-text`), each `config.pbtxt` plus `1/model.onnx` and its
 * external weights (copied under the file name the graph references, so onnxruntime resolves them), plus the uint8
 * pixel path: `<name>-pixels` (the pixel-table graph) and the ensemble `<name>-vision-u8` (pixels -> vision). Backend
 * `onnxruntime`, `max_batch_size`, dynamic batching, instance groups, optional TensorRT FP16 (GPU only; its vectors
 * are not bit-identical to fp32, so check cosine against the bundle before routing traffic to it).
 * @module
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { towerModels, type BundleSpec, type TensorSpec, type TowerModel } from "./bundle-models.ts";
import { pixelGraph, PIXELS_OUTPUT } from "./pixel-graph.ts";

export interface TritonRepoOptions {
  /** Largest batch Triton forms (default 64). */
  maxBatchSize?: number;
  /** Dynamic batcher's preferred sizes (default powers of two from 8 up to max_batch_size, at most 3). */
  preferredBatchSizes?: number[];
  /** How long the batcher may hold a request to fill a batch (default 2000 us). */
  maxQueueDelayUs?: number;
  /** Instances per model (default 1) and where they run (default GPU). */
  instances?: number;
  kind?: "KIND_GPU" | "KIND_CPU";
  /** TensorRT execution accelerator in FP16 (GPU only). */
  tensorrtFp16?: boolean;
}

export interface TritonRepoResult {
  models: { name: string; files: string[] }[];
}

const TYPE: Record<TensorSpec["datatype"], string> = { FP32: "TYPE_FP32", FP16: "TYPE_FP16", INT64: "TYPE_INT64", INT32: "TYPE_INT32", UINT8: "TYPE_UINT8", INT8: "TYPE_INT8" };

function tensorBlock(t: TensorSpec): string {
  // With max_batch_size > 0 Triton prepends the batch dimension itself: dims leave out our -1.
  return `  {\n    name: "${t.name}"\n    data_type: ${TYPE[t.datatype]}\n    dims: [ ${t.shape.slice(1).join(", ")} ]\n  }`;
}

const show = (t: TensorSpec): string => `${t.name} ${t.datatype} [${t.shape.join(", ")}]`;

/** The `config.pbtxt` of one tower model (protobuf text format of Triton's ModelConfig). */
export function modelConfig(m: TowerModel, o: TritonRepoOptions = {}): string {
  const max = o.maxBatchSize ?? 64;
  if (!Number.isInteger(max) || max < 1) throw new SiglipError("INVALID_ARGUMENT", "max batch size must be a positive integer");
  const kind = o.kind ?? "KIND_GPU";
  const preferred = o.preferredBatchSizes ?? [8, 16, 32, 64, 128, 256].filter((b) => b <= max).slice(-3);
  for (const b of preferred) if (!Number.isInteger(b) || b < 1 || b > max) throw new SiglipError("INVALID_ARGUMENT", `preferred batch size ${b} is not in 1..${max}`);
  const lines = [
    `# ${m.tower} tower of ${m.manifest.checkpoint.id} (${m.manifest.dtype}), written by siglip triton-repo.`,
    `# Contract: ${m.inputs.map(show).join(", ")} -> ${show(m.output)}`,
    ...(m.inputs.length > 1 ? ["# NaFlex: the patch count N (the request's max_num_patches) is a dynamic dimension (-1); the dynamic batcher batches requests of the same N."] : []),
    `name: "${m.name}"`,
    `backend: "onnxruntime"`,
    `max_batch_size: ${max}`,
    `input [\n${m.inputs.map(tensorBlock).join(",\n")}\n]`,
    `output [\n${tensorBlock(m.output)}\n]`,
    `dynamic_batching {\n${preferred.length > 0 ? `  preferred_batch_size: [ ${preferred.join(", ")} ]\n` : ""}  max_queue_delay_microseconds: ${o.maxQueueDelayUs ?? 2000}\n}`,
    `instance_group [\n  {\n    count: ${o.instances ?? 1}\n    kind: ${kind}\n  }\n]`,
  ];
  if (o.tensorrtFp16) {
    if (kind !== "KIND_GPU") throw new SiglipError("INVALID_ARGUMENT", "TensorRT needs GPU instances (kind KIND_GPU)");
    lines.push(
      [
        "optimization { execution_accelerators {",
        "  gpu_execution_accelerator : [ {",
        '    name : "tensorrt"',
        '    parameters { key: "precision_mode" value: "FP16" }',
        '    parameters { key: "max_workspace_size_bytes" value: "1073741824" }',
        '    parameters { key: "trt_engine_cache_enable" value: "1" }',
        "  } ]",
        "} }",
      ].join("\n"),
    );
  }
  return lines.join("\n") + "\n";
}

/** The ensemble `<name>-vision-u8`: `<name>-pixels` (uint8 -> pixel_values) then `<name>-vision`. */
export function ensembleConfig(m: TowerModel, o: TritonRepoOptions = {}): string {
  const prefix = m.name.replace(/-vision-u8$/, "");
  const input = m.inputs[0] as TensorSpec;
  const S = input.shape[2] as number;
  return [
    `# ${m.manifest.checkpoint.id}: UINT8 pixels through the pixel table (in-graph) into the vision tower. Written by siglip triton-repo.`,
    `name: "${m.name}"`,
    `platform: "ensemble"`,
    `max_batch_size: ${o.maxBatchSize ?? 64}`,
    `input [\n${tensorBlock(input)}\n]`,
    `output [\n${tensorBlock(m.output)}\n]`,
    "ensemble_scheduling {\n  step [",
    `    {\n      model_name: "${prefix}-pixels"\n      model_version: -1\n      input_map { key: "${input.name}" value: "${input.name}" }\n      output_map { key: "${PIXELS_OUTPUT}" value: "pixel_values_${S}" }\n    },`,
    `    {\n      model_name: "${prefix}-vision"\n      model_version: -1\n      input_map { key: "pixel_values" value: "pixel_values_${S}" }\n      output_map { key: "${m.output.name}" value: "${m.output.name}" }\n    }`,
    "  ]\n}",
  ].join("\n") + "\n";
}

/** The pixel-table model `<name>-pixels` (onnxruntime): `pixels` UINT8 [-1, 3, S, S] -> `pixel_values` FP32. */
function pixelsModel(m: TowerModel): TowerModel {
  return { ...m, name: m.name.replace(/-vision-u8$/, "-pixels"), tower: "vision-u8", inputs: m.inputs, output: { name: PIXELS_OUTPUT, datatype: "FP32", shape: (m.inputs[0] as TensorSpec).shape } };
}

/** Writes `<out>/<model>/config.pbtxt` and `<out>/<model>/1/model.onnx` (+ external data) for every bundle. */
export async function writeTritonRepo(bundles: readonly BundleSpec[], out: string, o: TritonRepoOptions = {}): Promise<TritonRepoResult> {
  const models: TowerModel[] = [];
  for (const b of bundles) models.push(...(await towerModels(b)));
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) throw new SiglipError("INVALID_ARGUMENT", `two bundles give model ${m.name}; name them apart (DIR=NAME)`);
    names.add(m.name);
  }
  const result: TritonRepoResult = { models: [] };
  for (const m of models) {
    if (m.tower === "vision-u8") {
      // The ensemble has no files of its own (an empty version folder); the pixel graph is its own model.
      await mkdir(join(out, m.name, "1"), { recursive: true });
      await writeFile(join(out, m.name, "config.pbtxt"), ensembleConfig(m, o));
      result.models.push({ name: m.name, files: ["config.pbtxt", "1/"] });
      const p = pixelsModel(m);
      await mkdir(join(out, p.name, "1"), { recursive: true });
      await writeFile(join(out, p.name, "config.pbtxt"), modelConfig(p, o).replace(/^# .*\n# .*\n/, `# uint8 pixels -> pixel_values by the edge's own pixel table (bit-identical to its float pixels). Written by siglip triton-repo.\n`));
      await writeFile(join(out, p.name, "1", "model.onnx"), pixelGraph(m.inputs[0]?.shape[2] as number));
      result.models.push({ name: p.name, files: ["config.pbtxt", "1/model.onnx"] });
      continue;
    }
    const dir = join(out, m.name);
    await mkdir(join(dir, "1"), { recursive: true });
    await writeFile(join(dir, "config.pbtxt"), modelConfig(m, o));
    const files = ["config.pbtxt", "1/model.onnx"];
    await copyFile(join(m.dir, m.graph), join(dir, "1", "model.onnx"));
    // External weights keep the name the graph's TensorProto.location points at, next to model.onnx.
    const data = `${m.graph}.data`;
    if (m.manifest.files.some((f) => f.path === data)) {
      await copyFile(join(m.dir, data), join(dir, "1", data));
      files.push(`1/${data}`);
    }
    result.models.push({ name: m.name, files });
  }
  const readme = [
    "# Triton model repository (written by `siglip triton-repo`)",
    "",
    "Serve it with NVIDIA Triton and point the edge API at it:",
    "",
    "```sh",
    `docker run --gpus all --rm -p 8000:8000 -v "$PWD":/models nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository=/models`,
    "```",
    "",
    "Models:",
    "",
    ...models.map((m) => `- \`${m.name}\`: ${m.inputs.map((i) => `\`${show(i)}\``).join(", ")} -> \`${show(m.output)}\``),
    "",
    "-1 is a dynamic dimension: the batch, and for NaFlex vision models the patch count N (a request's `max_num_patches`;",
    "the client resizes the position embeddings and sends them as `position_embeddings`).",
    "",
  ].join("\n");
  await writeFile(join(out, "README.md"), readme);
  return result;
}

/** Reads back a model's config (tests). */
export async function readModelConfig(out: string, name: string): Promise<string> {
  return readFile(join(out, name, "config.pbtxt"), "utf8");
}
