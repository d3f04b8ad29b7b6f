// The kernels module's exports (the TypeScript loader in src/ wraps them).
export { gemmW8A12, GEMM_MR, GEMM_NR, FLAG_GELU, FLAG_RAW_I32 } from "./gemm";
export { quantizeRows, layerNorm, layerNormQuantize, QMAX } from "./quantize";
export { attention, attentionScratchBytes, crossAttention, crossAttentionScratchBytes, softmaxRows } from "./attention";
export { expF32, geluF32 } from "./math";

/** First byte after the module's static data: the loader's arena starts here. */
export function heapBase(): usize {
  return __heap_base;
}
