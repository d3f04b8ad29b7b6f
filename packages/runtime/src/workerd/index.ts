/**
 * The Workers entry of the runtime: onnxruntime-web with the precompiled CPU wasm (wrangler's `CompiledWasm` rule
 * turns the import below into a `WebAssembly.Module`). Wrangler does not resolve package `exports` for `.wasm`
 * imports (edge-runtime §2.4), hence the relative path into the repository's node_modules.
 * @module
 */
// eslint-disable-next-line no-restricted-imports -- the runtime package owns the onnxruntime wasm binary
import ortWasm from "../../../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
import type { InferenceEngine } from "../engine.ts";
import { createWebEngine } from "../ort-web/engine.ts";

/** The isolate's onnxruntime-web engine (created once, reused by every request). */
export function workerdEngine(): InferenceEngine {
  return createWebEngine({ wasmModule: ortWasm });
}
