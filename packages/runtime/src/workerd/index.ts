/**
 * The Workers entry of the runtime: the JSPI build of onnxruntime-web with its precompiled CPU wasm (wrangler's
 * `CompiledWasm` rule turns the import below into a `WebAssembly.Module`). JSPI (`WebAssembly.Suspending`, present in
 * workerd) lets ORT await each external tensor from R2 while it builds the session, so weights are streamed rather
 * than held whole in JS memory. Wrangler does not resolve package `exports` for `.wasm` imports (edge-runtime §2.4),
 * hence the relative path into the repository's node_modules.
 * @module
 */
// onnxruntime-web/jspi as installed, with pre-allocated CPU outputs filled (generated on npm ci by
// scripts/patch-ort-web.ts; see there).
import * as ort from "./ort-jspi.patched.mjs";
import ortWasm from "../../../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jspi.wasm";
// Decoder binaries of packages/preprocess (JPEG, WebP), by the same CompiledWasm rule.
import jpegWasm from "../../../../node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import webpWasm from "../../../../node_modules/@jsquash/webp/codec/dec/webp_dec.wasm";
import { initDecoders } from "@siglip-edge/preprocess";
import type { InferenceEngine } from "../engine.ts";
import { createWebEngine } from "../ort-web/engine.ts";

/** The isolate's onnxruntime-web engine (created once, reused by every request). */
export function workerdEngine(): InferenceEngine {
  return createWebEngine({ ort, wasmModule: ortWasm, jspi: true, fillsOutputs: true });
}

let decoders: Promise<void> | undefined;

/** Registers the JPEG and WebP decoders of packages/preprocess from CompiledWasm imports (once per isolate). */
export function initWorkerdDecoders(): Promise<void> {
  decoders ??= initDecoders({ jpeg: jpegWasm, webp: webpWasm });
  return decoders;
}
