// Must pass lint: type-only imports of onnxruntime (no onnxruntime code loads) are allowed everywhere.
import type { InferenceSession } from "onnxruntime-common";
import type * as OrtWeb from "onnxruntime-web/wasm";

export type Session = InferenceSession;
export type Options = OrtWeb.InferenceSession.SessionOptions;
