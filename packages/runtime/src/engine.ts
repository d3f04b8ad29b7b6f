/**
 * The engine interface: one small contract over onnxruntime-node (servers) and onnxruntime-web (Workers, browsers,
 * Node for parity checks), and the seam for engines that are not onnxruntime. Tensors cross it as `@siglip-edge/core`
 * tensors, so no caller sees an onnxruntime type. The pipeline never asks an engine for its name: it reads the
 * capability flags below (what a session can be made from, whether external data streams, whether outputs can be
 * written into given arrays).
 * @module
 */
import type { BundleManifest, Tensor } from "@siglip-edge/core";
import type { BundleSource } from "./bundle-source.ts";

/** The onnxruntime engines this package ships (labels only: nothing branches on them). */
export type EngineName = "onnxruntime-node" | "onnxruntime-web";

/**
 * A file read lazily by byte range (an R2 object, an HTTP resource). Engines that can stream external data (the JSPI
 * build of onnxruntime-web) read one tensor's range at a time, so the weights never sit in JS memory as one buffer;
 * the others read it whole.
 */
export interface RangedFile {
  readonly size: number;
  /** A stream of `length` bytes from `offset` (one ranged GET). */
  openRange(offset: number, length: number): Promise<ReadableStream<Uint8Array>>;
}

/** One external-data file referenced by a graph (`location` in its TensorProto). */
export interface ExternalDataFile {
  /** The `location` string the graph stores, e.g. `vision.onnx.data`. */
  path: string;
  data: Uint8Array | RangedFile;
}

/** A graph held in memory, with its external weights (the edge path: bytes read from R2 or HTTP). */
export interface ModelBytes {
  kind: "bytes";
  graph: Uint8Array;
  externalData?: readonly ExternalDataFile[];
}

/** A graph on the local filesystem; onnxruntime-node resolves its external data next to it. */
export interface ModelPath {
  kind: "path";
  path: string;
}

/**
 * One graph of a bundle, left to the engine to read: for engines that do not run ONNX graphs but a bundle's own
 * weights (a kernel engine reading packed weights by byte range). The session must honour the graph's contract: the
 * same input and output names, dtypes and shapes as the ONNX graph `graph` names (`pixel_values` -> `pooler_output`,
 * `inputs_embeds` -> `pooler_output`, stage graphs `hidden_states` -> `hidden_states_out`).
 */
export interface ModelInBundle {
  kind: "bundle";
  source: BundleSource;
  manifest: BundleManifest;
  /** The graph file whose function the session computes, e.g. `vision.onnx` or `text_split.stage1.onnx`. */
  graph: string;
  /** The external-data file holding that graph's weights (a stage graph's: its tower's). */
  data: string;
}

export type ModelSource = ModelBytes | ModelPath | ModelInBundle;
export type ModelSourceKind = ModelSource["kind"];

export interface SessionConfig {
  /** Intra-op threads (onnxruntime-node). onnxruntime-web always runs one thread here. */
  threads?: number;
  /**
   * Keep ORT from packing a second copy of MatMul weights (edge-runtime §6.1: 57.5 vs 86.1 MiB for 40 MB of fp32).
   * Default true for onnxruntime-web; ignored by onnxruntime-node (its binding takes no config entries).
   */
  disablePrepacking?: boolean;
  /**
   * ORT's CPU memory arena (default on). Off, freed activation buffers return to the allocator instead of staying in
   * arena chunks; WASM memory never shrinks, so the arena's over-allocation is paid for the isolate's lifetime.
   */
  memArena?: boolean;
  /** `disabled` runs the graph's nodes as written (no fusions: tests comparing two graphs exactly); default `all`. */
  optimization?: "all" | "disabled";
}

export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the graph; returns the requested outputs (all when `outputs` is omitted) as core tensors.
   * @param into pre-allocated outputs to fill (their shapes must be the outputs' shapes); only on engines whose
   *   `fillsOutputs` is true. The returned tensors then hold the same arrays.
   */
  run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[], into?: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface InferenceEngine {
  /** Shown in messages and model cards (`onnxruntime-node`, `onnxruntime-web`, ...); never a switch. */
  readonly name: string;
  /**
   * What `createSession` takes, in order of preference: `path` (a graph file; external data resolved next to it),
   * `bytes` (the graph and its external data in memory or as ranged files), `bundle` (the engine reads the bundle
   * itself). The pipeline gives the first kind its bundle source can provide.
   */
  readonly loads: readonly ModelSourceKind[];
  /** True when `RangedFile` external data is streamed tensor by tensor rather than read whole first. */
  readonly streamsExternalData: boolean;
  /**
   * True when `run` can write outputs into caller-owned arrays (`into`), so a server can reuse one output buffer per
   * shape instead of leaving a fresh array as garbage after every run.
   */
  readonly fillsOutputs: boolean;
  createSession(model: ModelSource, config?: SessionConfig): Promise<EngineSession>;
  /**
   * Whether this engine runs the bundle (absent: every bundle). The kernels engine answers true for int8 bundles with
   * kernels files only; `engineTowers([kernels, web])` takes the first engine that answers true.
   */
  supports?(manifest: BundleManifest): boolean;
  /** Bytes of engine-owned memory outside the JS heap (the WASM linear memory), when the engine can tell. */
  nativeMemoryBytes(): number | undefined;
}
