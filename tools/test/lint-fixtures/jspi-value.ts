// Must fail lint: the patched workerd build of onnxruntime-web, reached by path, and a dynamic import.
import * as ort from "../../src/workerd/ort-jspi.patched.mjs";

export const env = ort.env;
export const later = () => import("onnxruntime-node");
