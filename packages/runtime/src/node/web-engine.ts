/**
 * onnxruntime-web in Node: compiles `ort-wasm-simd-threaded.wasm` from node_modules (Node, unlike workerd, may
 * compile wasm from bytes) and hands it to the same engine the Worker uses, so Node can check WASM parity and
 * measure WASM memory without workerd.
 * @module
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { InferenceEngine } from "../engine.ts";
import { createWebEngine, wasmApi } from "../ort-web/engine.ts";

let pending: Promise<InferenceEngine> | undefined;

export function createWebEngineForNode(): Promise<InferenceEngine> {
  pending ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
    const wasmModule = await wasmApi.compile(await readFile(wasmPath));
    return createWebEngine({ wasmModule });
  })();
  return pending;
}
