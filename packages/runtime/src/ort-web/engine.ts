/**
 * onnxruntime-web (CPU / WASM execution provider) behind the engine interface, following the recipe proven in
 * workerd (docs: edge-runtime §3): an ORT build handed in by the caller (`onnxruntime-web/wasm` in Node,
 * `onnxruntime-web/jspi` in workerd, each with its matching `.wasm`), a precompiled `WebAssembly.Module` handed to ORT
 * through a wrapper around `WebAssembly.instantiate` (workerd forbids compiling wasm from bytes), one thread, no
 * proxy, a placeholder `wasmBinary`, external data, and `session.disable_prepacking`. With the JSPI build, ranged
 * external data is mounted as a lazy `Blob` (range-blob.ts) so ORT pulls one tensor at a time.
 * @module
 */
import type * as OrtWeb from "onnxruntime-web/wasm";
import { SiglipError } from "@siglip-edge/core";
import type { EngineSession, ExternalDataFile, InferenceEngine, ModelSource, SessionConfig } from "../engine.ts";
import type { OrtTensorCtor } from "../ort-convert.ts";
import { wrapSession } from "../ort-session.ts";
import { rangeBlob } from "./range-blob.ts";

/** The part of an onnxruntime-web build this engine uses (the `wasm` and `jspi` entries export the same API). */
export type OrtWebBuild = Pick<typeof OrtWeb, "InferenceSession" | "Tensor" | "env">;

/**
 * The slice of the global `WebAssembly` API used here, declared locally so the package type-checks without the DOM
 * library (Node-only consumers such as the CLI compile it too).
 */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
type WasmImports = Record<string, Record<string, unknown>>;
interface WasmApi {
  Module: abstract new (...args: never[]) => WasmModule;
  Memory: abstract new (...args: never[]) => WasmMemory;
  instantiate(source: WasmModule, imports?: WasmImports): Promise<WasmInstance>;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let installed: WasmModule | undefined;
let memory: WasmMemory | undefined;

function findMemory(namespace: unknown, depth = 0): WasmMemory | undefined {
  if (namespace instanceof wasmApi.Memory) return namespace;
  if (typeof namespace !== "object" || namespace === null || depth > 1) return undefined;
  for (const value of Object.values(namespace)) {
    const found = findMemory(value, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Replaces the global `WebAssembly.instantiate` once: calls that pass bytes (ORT's Emscripten glue always does)
 * instantiate the given precompiled module instead. ORT 1.30 does not forward Emscripten's `instantiateWasm` hook,
 * which is why the global is wrapped; the wrapper lives only in this file.
 */
function installInstantiateHook(module: WasmModule): void {
  if (installed !== undefined) {
    if (installed !== module) throw new SiglipError("INTERNAL", "a different ORT wasm module is already installed");
    return;
  }
  installed = module;
  const original = wasmApi.instantiate.bind(wasmApi);
  const wrapped = async (source: unknown, imports?: WasmImports): Promise<unknown> => {
    if (source instanceof wasmApi.Module) return original(source, imports);
    const instance = await original(module, imports);
    memory = findMemory(instance.exports) ?? findMemory(imports); // the threaded build imports its memory
    return { instance, module };
  };
  wasmApi.instantiate = wrapped as WasmApi["instantiate"];
}

export interface WebEngineOptions {
  /** The ORT build: `import * as ort from "onnxruntime-web/wasm"` (or `/jspi`). */
  ort: OrtWebBuild;
  /**
   * The build's own binary, precompiled (a wrangler `CompiledWasm` import, or compiled by the Node adapter):
   * `ort-wasm-simd-threaded.wasm` for `/wasm`, `ort-wasm-simd-threaded.jspi.wasm` for `/jspi`.
   */
  wasmModule: WasmModule;
  /**
   * The build is JSPI (`onnxruntime-web/jspi`): external data given as a `RangedFile` is mounted as a lazy Blob and
   * read tensor by tensor (edge-runtime §6.4: JS-side peak ~ one tensor instead of the whole weight file).
   */
  jspi?: boolean;
  /**
   * The build fills pre-allocated CPU outputs (the Workers build patched by scripts/patch-ort-web.ts; stock
   * onnxruntime-web 1.30 returns them untouched, microsoft/onnxruntime#25786).
   */
  fillsOutputs?: boolean;
}

let engine: WebEngine | undefined;

class WebEngine implements InferenceEngine {
  readonly name = "onnxruntime-web";
  readonly loads = ["bytes"] as const;
  readonly streamsExternalData: boolean;
  readonly fillsOutputs: boolean;
  readonly #ort: OrtWebBuild;

  constructor(ort: OrtWebBuild, jspi: boolean, fillsOutputs: boolean) {
    this.#ort = ort;
    this.streamsExternalData = jspi;
    this.fillsOutputs = fillsOutputs;
  }

  async #externalData(f: ExternalDataFile): Promise<{ path: string; data: Uint8Array | Blob }> {
    if (f.data instanceof Uint8Array) return { path: f.path, data: f.data };
    if (this.streamsExternalData) return { path: f.path, data: rangeBlob(f.data) };
    // Not streaming: read the whole file, as one ranged read.
    const whole = new Uint8Array(await new Response(await f.data.openRange(0, f.data.size)).arrayBuffer());
    if (whole.byteLength !== f.data.size) throw new SiglipError("INTEGRITY_MISMATCH", `${f.path}: read ${whole.byteLength} of ${f.data.size} bytes`);
    return { path: f.path, data: whole };
  }

  async createSession(model: ModelSource, config: SessionConfig = {}): Promise<EngineSession> {
    if (model.kind !== "bytes") {
      throw new SiglipError("INVALID_ARGUMENT", "onnxruntime-web loads models from bytes, not file paths");
    }
    const ort = this.#ort;
    const options: OrtWeb.InferenceSession.SessionOptions = {
      executionProviders: ["wasm"],
      graphOptimizationLevel: config.optimization === "disabled" ? "disabled" : "all",
      extra: { session: { disable_prepacking: config.disablePrepacking === false ? "0" : "1" } },
      enableCpuMemArena: config.memArena ?? true,
      // Measured on the B/16 q4 vision graph in onnxruntime-web 1.30: the memory pattern makes session creation
      // plan every activation up front, 163.8 instead of 87.7 MiB of wasm heap in use. Off (ORT-web's default too).
      enableMemPattern: false,
    };
    if (model.externalData !== undefined) {
      options.externalData = await Promise.all(model.externalData.map((f) => this.#externalData(f)));
    }
    let session: OrtWeb.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model.graph, options);
    } catch (cause) {
      throw new SiglipError("MODEL_LOAD_FAILED", `onnxruntime-web could not create a session: ${String(cause)}`, { cause });
    }
    return wrapSession(session, ort.Tensor as unknown as OrtTensorCtor);
  }

  nativeMemoryBytes(): number | undefined {
    return memory?.buffer.byteLength;
  }
}

/**
 * The process-wide onnxruntime-web engine (ORT's wasm runtime is a singleton per isolate). The first call installs
 * the module and sets ORT's environment; later calls return the same engine.
 */
export function createWebEngine(options: WebEngineOptions): InferenceEngine {
  installInstantiateHook(options.wasmModule);
  if (engine === undefined) {
    const ort = options.ort;
    ort.env.wasm.numThreads = 1; // Workers have no wasm threads
    ort.env.wasm.proxy = false;
    // A truthy placeholder: ORT then neither fetches the .wasm nor needs import.meta.url; the hook ignores these bytes.
    ort.env.wasm.wasmBinary = new Uint8Array(1);
    ort.env.logLevel = "error";
    engine = new WebEngine(ort, options.jspi === true, options.fillsOutputs === true);
  }
  return engine;
}
