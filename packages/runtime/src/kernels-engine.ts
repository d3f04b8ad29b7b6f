/**
 * An `InferenceEngine` on the WebAssembly kernels of @siglip-edge/kernels: it runs an int8 bundle's towers from the
 * bundle's packed kernels files (`manifest.kernels`, format "siglip-kernels-w8a12"), not from its ONNX graphs, and
 * honours each graph's contract (input and output names, dtypes and shapes of `vision.onnx`, `text_split.onnx` and
 * their stage graphs). A session reads only the blocks of its graph's layers, by byte range through the bundle
 * source, each copied once into the kernels' memory; the file's size is checked against the manifest and every block
 * against its sha256 in the kernels header. `kernelsSupport(manifest)` tells whether a bundle can run here (int8
 * bundles converted with kernels files), so a caller can prefer this engine and fall back to onnxruntime.
 *
 * All sessions of one engine share the one `Kernels` instance (one WebAssembly memory, a bump arena): a session's
 * weights stay for the memory's lifetime (`release` frees nothing; an edge isolate loads its towers once).
 * @module
 */
import { fileDigest, SiglipError, tensor, type BundleManifest, type Tensor } from "@siglip-edge/core";
import { KERNELS_FORMAT, KERNELS_VERSION, KernelTower, sameTowerConfig, towerConfigOf, type Kernels, type KernelsHeader, type TowerInputs } from "@siglip-edge/kernels";
import type { EngineSession, InferenceEngine, ModelInBundle, ModelSource } from "./engine.ts";

/** The kernels engine: `supports` is always there (`kernelsSupport`). */
export interface KernelsEngine extends InferenceEngine {
  supports(manifest: BundleManifest): boolean;
}

/** True when the bundle carries kernels files this engine reads. */
export function kernelsSupport(manifest: BundleManifest): boolean {
  const k = manifest.kernels;
  return k !== undefined && k.format === KERNELS_FORMAT && k.version === KERNELS_VERSION && manifest.files.some((f) => f.path === k.vision) && manifest.files.some((f) => f.path === k.textSplit);
}

/** Which kernels file and stage a graph file of the bundle maps to. */
export interface KernelsGraph {
  tower: "vision" | "text";
  file: string;
  stage?: { index: number; count: number };
}

/** Maps a graph file (vision.onnx, text_split.onnx, a stage file) to its kernels file; MODEL_LOAD_FAILED otherwise. */
export function kernelsGraph(manifest: BundleManifest, graph: string): KernelsGraph {
  const k = manifest.kernels;
  if (k === undefined || !kernelsSupport(manifest)) {
    throw new SiglipError("MODEL_LOAD_FAILED", `the bundle has no ${KERNELS_FORMAT} v${KERNELS_VERSION} kernels files (convert it with --dtype int8)`, { details: { dtype: manifest.dtype } });
  }
  if (graph === manifest.graphs.vision) return { tower: "vision", file: k.vision };
  if (graph === manifest.graphs.textSplit) return { tower: "text", file: k.textSplit };
  for (const [tower, list, file] of [["vision", manifest.stages?.vision, k.vision], ["text", manifest.stages?.textSplit, k.textSplit]] as const) {
    const index = list?.indexOf(graph) ?? -1;
    if (list !== undefined && index >= 0) return { tower, file, stage: { index, count: list.length } };
  }
  throw new SiglipError("MODEL_LOAD_FAILED", `the kernels engine runs the vision and split text graphs (and their stages), not ${graph}`);
}

/** The header must describe the file the manifest lists (its size) and the manifest's tower (every config field). */
function checkAgainstManifest(h: KernelsHeader, m: BundleManifest, g: KernelsGraph, size: number, where: string): void {
  if (h.fileBytes !== size) throw new SiglipError("INTEGRITY_MISMATCH", `${where}: the kernels header describes ${h.fileBytes} bytes, the manifest lists ${size}`);
  if (!sameTowerConfig(h.config, towerConfigOf(m.family, m.sizes, g.tower))) {
    throw new SiglipError("CHECKPOINT_INVALID", `${g.file}: its tower (${JSON.stringify(h.config)}) is not the manifest's ${g.tower} tower`);
  }
}

class KernelsSession implements EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly #tower: KernelTower;

  constructor(tower: KernelTower) {
    this.#tower = tower;
    const naflex = tower.config.kind === "vision-naflex";
    const first = tower.first ? (tower.config.kind === "text" ? ["inputs_embeds"] : naflex ? ["pixel_values", "pixel_attention_mask", "position_embeddings"] : ["pixel_values"]) : naflex ? ["hidden_states", "pixel_attention_mask"] : ["hidden_states"];
    this.inputNames = first;
    this.outputNames = [tower.last ? "pooler_output" : "hidden_states_out"];
  }

  async run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[], into?: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const t = this.#tower;
    const name = this.outputNames[0] as string;
    if (outputs !== undefined && outputs.some((o) => o !== name)) throw new SiglipError("INVALID_ARGUMENT", `this graph outputs ${name} only, not ${outputs.join(", ")}`);
    for (const n of this.inputNames) if (feeds[n] === undefined) throw new SiglipError("INVALID_ARGUMENT", `missing input ${n}`);
    const main = feeds[this.inputNames[0] as string] as Tensor;
    if (main.dtype !== "float32") throw new SiglipError("INVALID_ARGUMENT", `${this.inputNames[0]} must be float32, got ${main.dtype}`);
    const dims = main.dims;
    const B = dims[0] as number;
    const c = t.config;
    const fixresPixels = t.first && c.kind === "vision-fixres";
    const N = fixresPixels ? (c.numPositions as number) : (dims[1] as number);
    const want = fixresPixels ? [B, c.channels, c.imageSize, c.imageSize] : [B, N, t.first && c.kind === "vision-naflex" ? (c.patchSize as number) ** 2 * (c.channels as number) : c.hidden];
    if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) throw new SiglipError("INVALID_ARGUMENT", `${this.inputNames[0]} must be [${want.join(", ")}], got [${dims.join(", ")}]`);
    const inp: TowerInputs = { input: main.data as Float32Array, batch: B, tokens: N };
    const mask = feeds["pixel_attention_mask"];
    if (c.kind === "vision-naflex") {
      if (mask === undefined || mask.dims.length !== 2 || mask.dims[0] !== B || mask.dims[1] !== N || (mask.dtype !== "int64" && mask.dtype !== "int32")) throw new SiglipError("INVALID_ARGUMENT", `pixel_attention_mask must be int64 [${B}, ${N}]`);
      inp.mask = mask.data as ArrayLike<number | bigint>;
      if (t.first) {
        const pos = feeds["position_embeddings"] as Tensor;
        if (pos.dtype !== "float32" || pos.dims.length !== 3 || pos.dims[0] !== B || pos.dims[1] !== N || pos.dims[2] !== c.hidden) throw new SiglipError("INVALID_ARGUMENT", `position_embeddings must be float32 [${B}, ${N}, ${c.hidden}]`);
        inp.positionEmbeddings = pos.data as Float32Array;
      }
    }
    const outDims = t.last ? [B, t.outputSize(N)] : [B, N, c.hidden];
    const given = into?.[name];
    const size = B * t.outputSize(N);
    if (given !== undefined && (given.dtype !== "float32" || given.data.length !== size)) throw new SiglipError("INVALID_ARGUMENT", `output ${name} must be float32 [${outDims.join(", ")}]`);
    const out = (given?.data as Float32Array | undefined) ?? new Float32Array(size);
    t.forward(inp, out);
    return { [name]: tensor("float32", outDims, out) };
  }

  async release(): Promise<void> {
    // nothing to do: the weights live in the engine's arena (see the module comment)
  }
}

/** The kernels engine over one instantiated `Kernels` (Node: `createKernelsEngineForNode`; workerd: `instantiateKernels` on the CompiledWasm module). */
export function createKernelsEngine(kernels: Kernels): KernelsEngine {
  return {
    name: "siglip-kernels-w8a12",
    loads: ["bundle"],
    streamsExternalData: true,
    fillsOutputs: true,
    supports: kernelsSupport,
    nativeMemoryBytes: () => kernels.memory.buffer.byteLength,
    async createSession(model: ModelSource): Promise<EngineSession> {
      if (model.kind !== "bundle") throw new SiglipError("MODEL_LOAD_FAILED", `the kernels engine loads bundles, not ${model.kind} models`);
      const { source, manifest, graph } = model as ModelInBundle;
      const g = kernelsGraph(manifest, graph);
      const digest = fileDigest(manifest, g.file);
      const where = `${source.location}${g.file}`;
      const read = async (offset: number, length: number): Promise<Uint8Array> => {
        if (offset + length > digest.size) throw new SiglipError("INTEGRITY_MISMATCH", `${where}: range ${offset}+${length} is past the ${digest.size} bytes the manifest lists`);
        return source.readRange(g.file, offset, length);
      };
      let tower: KernelTower;
      try {
        const checkHeader = (h: KernelsHeader): void => checkAgainstManifest(h, manifest, g, digest.size, where);
        tower = await KernelTower.load(kernels, read, { where, checkHeader, ...(g.stage === undefined ? {} : { stage: g.stage }) });
      } catch (cause) {
        if (cause instanceof SiglipError) throw cause;
        throw new SiglipError("MODEL_LOAD_FAILED", `${where}: cannot load the kernels file`, { cause });
      }
      return new KernelsSession(tower);
    },
  };
}
