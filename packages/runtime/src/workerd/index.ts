/**
 * The Workers entry of the runtime: onnxruntime-web with the precompiled CPU wasm (wrangler's `CompiledWasm` rule
 * turns the import below into a `WebAssembly.Module`). Wrangler does not resolve package `exports` for `.wasm`
 * imports (edge-runtime §2.4), hence the relative path into the repository's node_modules.
 * @module
 */
import ortWasm from "../../../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
// Decoder binaries of packages/preprocess (JPEG, WebP), by the same CompiledWasm rule.
import jpegWasm from "../../../../node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import webpWasm from "../../../../node_modules/@jsquash/webp/codec/dec/webp_dec.wasm";
import { initDecoders } from "@siglip-edge/preprocess";
import type { InferenceEngine } from "../engine.ts";
import { createWebEngine } from "../ort-web/engine.ts";

/** The isolate's onnxruntime-web engine (created once, reused by every request). */
export function workerdEngine(): InferenceEngine {
  return createWebEngine({ wasmModule: ortWasm });
}

let decoders: Promise<void> | undefined;

/** Registers the JPEG and WebP decoders of packages/preprocess from CompiledWasm imports (once per isolate). */
export function initWorkerdDecoders(): Promise<void> {
  decoders ??= initDecoders({ jpeg: jpegWasm, webp: webpWasm });
  return decoders;
}
