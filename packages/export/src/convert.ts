/**
 * Checkpoint directory -> bundle directory: the vision graph, the text graph with the token table inside, the text
 * graph without it plus the row-addressable table, the NaFlex position grid, the tokenizer, and the manifest with
 * sizes and sha256 of every file. Weights are read one tensor at a time and written straight to external data.
 * With `stages: K > 1`, the vision graph and the split text graph also get K stage graphs (`vision.stage0.onnx`, ...)
 * whose initializers point into the tower's own data file: no weight is written twice.
 * @module
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync, openSync, closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_FORMAT, BUNDLE_VERSION, SiglipError, type BundleFile, type BundleManifest, type FixResPreprocessing, type NaFlexPreprocessing } from "@siglip-edge/core";
import { openCheckpoint, type Checkpoint } from "./checkpoint.ts";
import { positionGridSide } from "./config.ts";
import { describeFile } from "./bundle.ts";
import { toF16, type WeightDType } from "./graphs/layers.ts";
import { buildFixResVision, buildNaFlexVision, buildText, opsetsFor, quantizeRowsInt8, tableChunks, type StageSpec } from "./graphs/towers.ts";
import { fileSink, recordingSink, sharedDataSink, type Extent } from "./onnx/builder.ts";
import { memoryTick } from "./memory.ts";
import { packTower, towerConfigOf } from "@siglip-edge/kernels";
import type { GraphBuilder, WeightSink } from "./onnx/builder.ts";

export interface ConvertOptions {
  dtype?: WeightDType;
  checkpointId?: string;
  revision?: string | null;
  /** Progress lines (one per graph). */
  log?: (line: string) => void;
  /**
   * Stage graphs per tower (vision and split text): an integer in [1, min(vision, text layers)]; 1 (default) writes
   * none. Stage i covers encoder layers [floor(i·L/K), floor((i+1)·L/K)) and shares the tower's data file.
   */
  stages?: number;
}

const TOKEN_TABLE = "text_model.embeddings.token_embedding.weight";

/** Writes `${name}.onnx` + `${name}.onnx.data`; returns each external initializer's extent in the data file. */
async function writeGraph(
  out: string,
  name: string,
  build: (sink: WeightSink) => Promise<GraphBuilder>,
  dtype: WeightDType,
  files: BundleFile[],
): Promise<Map<string, Extent>> {
  const dataName = `${name}.onnx.data`;
  const sink = recordingSink(fileSink(join(out, dataName), dataName));
  let g: GraphBuilder;
  try {
    g = await build(sink);
  } finally {
    sink.close();
  }
  await writeFile(join(out, `${name}.onnx`), g.encode(opsetsFor(dtype)));
  files.push(await describeFile(out, `${name}.onnx`, "onnx"), await describeFile(out, dataName, "onnx-data", "mixed"));
  return sink.extents;
}

/**
 * Writes `${name}.stage0.onnx` ... `${name}.stage{K-1}.onnx`, each a graph whose external initializers point at the
 * extents `${name}.onnx.data` already holds (the sink reads them back and checks they are the same bytes).
 * @returns the stage file names, in order
 */
async function writeStages(
  out: string,
  name: string,
  count: number,
  build: (sink: WeightSink, stage: StageSpec) => Promise<GraphBuilder>,
  extents: ReadonlyMap<string, Extent>,
  dtype: WeightDType,
  files: BundleFile[],
): Promise<string[]> {
  const dataName = `${name}.onnx.data`;
  const names: string[] = [];
  for (let index = 0; index < count; index++) {
    const sink = sharedDataSink(join(out, dataName), dataName, extents);
    let g: GraphBuilder;
    try {
      g = await build(sink, { index, count });
    } finally {
      sink.close();
    }
    const file = `${name}.stage${index}.onnx`;
    await writeFile(join(out, file), g.encode(opsetsFor(dtype)));
    files.push(await describeFile(out, file, "onnx-stage"));
    names.push(file);
  }
  return names;
}

function writeRaw(path: string, chunks: (Float32Array | Uint16Array | Int8Array | Uint8Array)[]): void {
  const fd = openSync(path, "w");
  try {
    for (const c of chunks) writeSync(fd, new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  } finally {
    closeSync(fd);
  }
}

async function preprocessing(ck: Checkpoint): Promise<FixResPreprocessing | NaFlexPreprocessing> {
  const pp = join(ck.dir, "preprocessor_config.json");
  const j = existsSync(pp) ? (JSON.parse(await readFile(pp, "utf8")) as Record<string, unknown>) : {};
  const resample = j["resample"] === 3 ? "bicubic" : "bilinear"; // SigLIP 2 ships 2 (bilinear); SigLIP 1 used 3
  const common = {
    resample: resample as "bilinear" | "bicubic",
    rescaleFactor: typeof j["rescale_factor"] === "number" ? j["rescale_factor"] : 1 / 255,
    imageMean: Array.isArray(j["image_mean"]) ? (j["image_mean"] as number[]) : [0.5, 0.5, 0.5],
    imageStd: Array.isArray(j["image_std"]) ? (j["image_std"] as number[]) : [0.5, 0.5, 0.5],
  };
  const v = ck.config.vision;
  if (ck.config.family === "fixres") return { kind: "fixres", imageSize: v.imageSize ?? 224, ...common };
  return { kind: "naflex", patchSize: v.patchSize, maxNumPatches: typeof j["max_num_patches"] === "number" ? j["max_num_patches"] : 256, ...common };
}

/** Converts a checkpoint directory into a bundle at `out`. Returns the manifest (also written to manifest.json). */
export async function convertCheckpoint(checkpointDir: string, out: string, opts: ConvertOptions = {}): Promise<BundleManifest> {
  const dtype = opts.dtype ?? "fp32";
  if (!["fp32", "fp16", "int8", "q4"].includes(dtype)) throw new SiglipError("INVALID_ARGUMENT", `unknown dtype ${dtype}`);
  const log = opts.log ?? ((): void => undefined);
  const opened = await openCheckpoint(checkpointDir);
  const c = opened.config;
  const stages = opts.stages ?? 1;
  const maxStages = Math.min(c.vision.numLayers, c.text.numLayers);
  if (!Number.isInteger(stages) || stages < 1 || stages > maxStages) {
    throw new SiglipError("INVALID_ARGUMENT", `stages must be an integer from 1 to ${maxStages} (the layers of the shorter tower), got ${stages}`, { details: { stages, max: maxStages } });
  }
  // Every tensor read (and the copies made from it) counts towards the next garbage collection.
  const ck = {
    ...opened,
    read: async (name: string): Promise<Float32Array> => {
      const t = await opened.read(name);
      memoryTick(t.byteLength * 2);
      return t;
    },
    readRows: async (name: string, start: number, count: number, into?: Float32Array): Promise<Float32Array> => {
      const t = await opened.readRows(name, start, count, into);
      memoryTick(t.byteLength);
      return t;
    },
  };
  await mkdir(out, { recursive: true });
  const files: BundleFile[] = [];
  log(`vision (${c.family}, ${dtype})`);
  const vision = (s: WeightSink, stage?: StageSpec): Promise<GraphBuilder> => {
    const o = stage === undefined ? { dtype } : { dtype, stage };
    return c.family === "fixres" ? buildFixResVision(c, ck.read, s, o) : buildNaFlexVision(c, ck.read, s, o);
  };
  const textSplit = (s: WeightSink, stage?: StageSpec): Promise<GraphBuilder> => buildText(c, ck.read, s, stage === undefined ? { dtype, splitTable: true } : { dtype, splitTable: true, stage });
  const visionExtents = await writeGraph(out, "vision", vision, dtype, files);
  let stageFiles: BundleManifest["stages"];
  if (stages > 1) {
    log(`vision: ${stages} stage graphs`);
    stageFiles = { vision: await writeStages(out, "vision", stages, vision, visionExtents, dtype, files), textSplit: [] };
  }
  log("text (token table inside)");
  await writeGraph(out, "text", (s) => buildText(c, ck.read, s, { dtype, splitTable: false, readRows: ck.readRows }), dtype, files);
  log("text (token table split out)");
  const textExtents = await writeGraph(out, "text_split", textSplit, dtype, files);
  if (stageFiles !== undefined) {
    log(`text (token table split out): ${stages} stage graphs`);
    stageFiles.textSplit = await writeStages(out, "text_split", stages, textSplit, textExtents, dtype, files);
  }

  // Split table, streamed in row chunks: fp32 for fp32 bundles, fp16 for fp16, int8 rows + float32 per-row scales
  // for int8/q4.
  const V = c.text.vocabSize;
  const D = c.text.hiddenSize;
  const tableDtype: "float32" | "float16" | "int8" = dtype === "fp32" ? "float32" : dtype === "fp16" ? "float16" : "int8";
  const scales = new Float32Array(V);
  const fd = openSync(join(out, "token_table.bin"), "w");
  try {
    for await (const chunk of tableChunks(ck.readRows, TOKEN_TABLE, V, D, (rows, start, n) => {
      if (tableDtype === "float32") return rows;
      if (tableDtype === "float16") return toF16(rows);
      const q = quantizeRowsInt8(rows, n, D);
      scales.set(q.scales, start);
      return q.q;
    })) {
      writeSync(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  } finally {
    closeSync(fd);
  }
  let scalesFile: string | null = null;
  if (tableDtype === "int8") {
    writeRaw(join(out, "token_table_scales.bin"), [scales]);
    scalesFile = "token_table_scales.bin";
  }
  files.push(await describeFile(out, "token_table.bin", "token-table", tableDtype));
  if (scalesFile !== null) files.push(await describeFile(out, scalesFile, "token-table-scales", "float32"));

  let kernels: BundleManifest["kernels"];
  if (dtype === "int8") {
    log("kernels files (W8A12)");
    kernels = { format: "siglip-kernels-w8a12", version: 1, vision: "vision.kernels.bin", textSplit: "text_split.kernels.bin" };
    for (const [file, config] of [[kernels.vision, towerConfigOf(c.family, c, "vision")], [kernels.textSplit, towerConfigOf(c.family, c, "text")]] as const) {
      const packed = await packTower(config, ck.read);
      writeRaw(join(out, file), packed.chunks);
      files.push(await describeFile(out, file, "kernels", "mixed"));
    }
  }

  let positionGrid: BundleManifest["positionGrid"] = null;
  if (c.family === "naflex") {
    writeRaw(join(out, "position_grid.bin"), [await ck.read("vision_model.embeddings.position_embedding.weight")]);
    files.push(await describeFile(out, "position_grid.bin", "position-grid", "float32"));
    positionGrid = { file: "position_grid.bin", side: positionGridSide(c.vision), dim: c.vision.hiddenSize };
  }
  let tokenizer: string | null = null;
  if (existsSync(join(ck.dir, "tokenizer.json"))) {
    await copyFile(join(ck.dir, "tokenizer.json"), join(out, "tokenizer.json"));
    files.push(await describeFile(out, "tokenizer.json", "tokenizer"));
    tokenizer = "tokenizer.json";
  }
  const [logitScale] = await ck.read("logit_scale");
  const [logitBias] = await ck.read("logit_bias");
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    checkpoint: { id: opts.checkpointId ?? checkpointDir, revision: opts.revision ?? null },
    family: c.family,
    modelType: c.modelType,
    dtype,
    sizes: { embedDim: c.vision.hiddenSize, text: c.text, vision: c.vision },
    preprocessing: await preprocessing(ck),
    text: { maxLength: c.text.maxPositions, tokenizer, padId: 0, eosId: 1 },
    logitScale: logitScale ?? 0,
    logitBias: logitBias ?? 0,
    graphs: { vision: "vision.onnx", text: "text.onnx", textSplit: "text_split.onnx" },
    tokenTable: { file: "token_table.bin", dtype: tableDtype, rows: V, dim: D, scales: scalesFile },
    positionGrid,
    ...(stageFiles === undefined ? {} : { stages: stageFiles }),
    ...(kernels === undefined ? {} : { kernels }),
    files,
  };
  await writeFile(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}
