/**
 * onnxruntime-web in Node: compiles `ort-wasm-simd-threaded.wasm` from node_modules (Node, unlike workerd, may
 * compile wasm from bytes) and hands it to the same engine the Worker uses, so Node can check WASM parity and
 * measure WASM memory without workerd. The plain (non-JSPI) build: Node 22 has no JSPI, so external data is read
 * whole here; workerd uses the JSPI build and streams it (workerd/index.ts).
 * @module
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as ort from "onnxruntime-web/wasm";
import type { InferenceEngine } from "../engine.ts";
import { createWebEngine, wasmApi } from "../ort-web/engine.ts";

let pending: Promise<InferenceEngine> | undefined;

export function createWebEngineForNode(): Promise<InferenceEngine> {
  pending ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
    const wasmModule = await wasmApi.compile(await readFile(wasmPath));
    return createWebEngine({ ort, wasmModule });
  })();
  return pending;
}

/**
 * The onnxruntime-web build itself, for the one caller that needs ORT's own API: the transformers.js peer benchmark
 * (bench/transformers-js.ts), which registers it as transformers.js's runtime. Exported from this module so that no
 * second module imports onnxruntime; not part of the `./node` entry.
 */
export { ort as onnxruntimeWeb };
