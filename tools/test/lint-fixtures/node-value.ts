// Must fail lint: onnxruntime-node imported for values outside the engine modules.
import * as ort from "onnxruntime-node";

export const session = (path: string) => ort.InferenceSession.create(path);
