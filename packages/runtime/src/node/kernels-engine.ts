/**
 * Node: the kernels engine on build/kernels.wasm of @siglip-edge/kernels (compiled from the file).
 * @module
 */
import { loadKernels } from "@siglip-edge/kernels/node";
import type { KernelsOptions } from "@siglip-edge/kernels";
import { createKernelsEngine, type KernelsEngine } from "../kernels-engine.ts";

/** A kernels engine on a fresh kernels instance (one WebAssembly memory for all its sessions). */
export async function createKernelsEngineForNode(options: KernelsOptions = {}): Promise<KernelsEngine> {
  return createKernelsEngine(await loadKernels(options));
}
