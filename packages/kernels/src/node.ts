/**
 * Node: compile build/kernels.wasm from the file (workerd cannot compile bytes; there, hand `instantiateKernels` the
 * module wrangler's CompiledWasm rule imports).
 * @module
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { SiglipError } from "@siglip-edge/core";
import { instantiateKernels, type Kernels, type KernelsOptions } from "./kernels.ts";

/** Path of the built module (made by `npm run build -w @siglip-edge/kernels`, which turbo runs before tests). */
export const KERNELS_WASM_PATH = fileURLToPath(new URL("../build/kernels.wasm", import.meta.url));

/** Compiles a kernels .wasm file (default: this package's build). */
export async function compileKernels(path: string = KERNELS_WASM_PATH): Promise<WebAssembly.Module> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new SiglipError("MODEL_LOAD_FAILED", `cannot read ${path}: build it with \`npm run build -w @siglip-edge/kernels\``, { cause });
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (cause) {
    throw new SiglipError("MODEL_LOAD_FAILED", `${path} is not a valid kernels module (this engine needs WebAssembly SIMD128)`, { cause });
  }
}

/** compileKernels + instantiateKernels. */
export async function loadKernels(options: KernelsOptions & { path?: string } = {}): Promise<Kernels> {
  return instantiateKernels(await compileKernels(options.path), options);
}
