/**
 * The engine interface: one small contract over onnxruntime-node (servers) and onnxruntime-web (Workers, browsers,
 * Node for parity checks). Tensors cross it as `@siglip-edge/core` tensors, so no caller sees an onnxruntime type.
 * @module
 */
import type { Tensor } from "@siglip-edge/core";

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

export type ModelSource = ModelBytes | ModelPath;

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
  readonly name: EngineName;
  /** True when `RangedFile` external data is streamed tensor by tensor rather than read whole first. */
  readonly streamsExternalData: boolean;
  /**
   * True when `run` can write outputs into caller-owned arrays (`into`), so a server can reuse one output buffer per
   * shape instead of leaving a fresh array as garbage after every run.
   */
  readonly fillsOutputs: boolean;
  createSession(model: ModelSource, config?: SessionConfig): Promise<EngineSession>;
  /** Bytes of engine-owned memory outside the JS heap (the WASM linear memory), when the engine can tell. */
  nativeMemoryBytes(): number | undefined;
}
