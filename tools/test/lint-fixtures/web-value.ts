// Must fail lint: a named value import of onnxruntime-web, and a re-export of onnxruntime-common.
import { Tensor } from "onnxruntime-web/wasm";

export * from "onnxruntime-common";
export const t = new Tensor("float32", new Float32Array(1), [1]);
