/// <reference lib="dom" />
// (the WebAssembly types, for every package whose typecheck reaches the kernels; Node and workerd both have WebAssembly)
/**
 * Node: compile build/kernels.wasm from the file (workerd cannot compile bytes; there, hand `instantiateKernels` the
 * module wrangler's CompiledWasm rule imports).
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeNpy, SiglipError } from "@siglip-edge/core";
import { instantiateKernels, type Kernels, type KernelsOptions } from "./kernels.ts";
import type { EncoderLayerWeights, LinearWeights } from "./layer.ts";

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

/** Reads one encoder layer's weights saved as .npy files with the Hugging Face names (tests and benches). */
export async function readEncoderLayerNpy(dir: string, shape: { hidden: number; heads: number; intermediate: number; eps: number }): Promise<EncoderLayerWeights> {
  const f = async (name: string): Promise<Float32Array> => {
    const t = decodeNpy(new Uint8Array(await readFile(join(dir, `${name}.npy`))));
    if (t.dtype !== "float32") throw new SiglipError("DTYPE_MISMATCH", `${name}.npy is ${t.dtype}, expected float32`);
    return t.data as Float32Array;
  };
  const lin = async (name: string): Promise<LinearWeights> => ({ weight: await f(`${name}.weight`), bias: await f(`${name}.bias`) });
  return {
    ...shape,
    layerNorm1: await lin("layer_norm1"),
    q: await lin("self_attn.q_proj"),
    k: await lin("self_attn.k_proj"),
    v: await lin("self_attn.v_proj"),
    out: await lin("self_attn.out_proj"),
    layerNorm2: await lin("layer_norm2"),
    fc1: await lin("mlp.fc1"),
    fc2: await lin("mlp.fc2"),
  };
}
