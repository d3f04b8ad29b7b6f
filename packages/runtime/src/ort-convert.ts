/**
 * Conversions between `@siglip-edge/core` tensors and onnxruntime tensors. Both onnxruntime packages share the
 * `onnxruntime-common` Tensor class, so one module serves both engines.
 * @module
 */
import { SiglipError, tensor, type DType, type Tensor } from "@siglip-edge/core";
import type { Tensor as OrtTensor, TypedTensor } from "onnxruntime-common";

export type OrtTensorCtor = new (type: DType, data: Tensor["data"], dims: readonly number[]) => OrtTensor;

const SUPPORTED: ReadonlySet<string> = new Set<DType>(["float32", "float16", "int32", "int64", "uint8", "int8"]);

/** Wraps a core tensor's data (no copy) as an onnxruntime tensor. */
export function toOrt(Ctor: OrtTensorCtor, t: Tensor): OrtTensor {
  return new Ctor(t.dtype, t.data, t.dims);
}

/**
 * An onnxruntime CPU output tensor as a core tensor, without a copy: both engines hand CPU outputs out as typed
 * arrays of their own (onnxruntime-web copies them out of the WASM heap; onnxruntime-node's buffer lives as long as
 * the array), and `dispose()` of a CPU tensor only drops the Tensor's reference. One less [B, N, D] buffer per run
 * matters in a 128 MB isolate, where every such buffer is garbage until V8 collects it.
 */
export function fromOrt(name: string, t: OrtTensor): Tensor {
  if (!SUPPORTED.has(t.type)) {
    throw new SiglipError("DTYPE_MISMATCH", `output "${name}" has unsupported dtype ${t.type}`);
  }
  if (t.location !== "cpu") throw new SiglipError("INTERNAL", `output "${name}" is on ${t.location}, not the CPU`);
  return tensor(t.type as DType, t.dims, (t as TypedTensor<"float32">).data as Tensor["data"]);
}
