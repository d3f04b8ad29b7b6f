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

/** Copies an onnxruntime CPU tensor into a core tensor (the copy outlives the ORT buffer). */
export function fromOrt(name: string, t: OrtTensor): Tensor {
  if (!SUPPORTED.has(t.type)) {
    throw new SiglipError("DTYPE_MISMATCH", `output "${name}" has unsupported dtype ${t.type}`);
  }
  const dtype = t.type as DType;
  const data = (t as TypedTensor<"float32">).data; // any of the supported typed arrays; .slice() keeps the type
  return tensor(dtype, t.dims, data.slice() as Tensor["data"]);
}
