export { createNodeEngine } from "./ort-node-engine.ts";
export { createMatmulKernel, type MatmulKernel, type MatmulKernelOptions } from "./matmul.ts";
export { createWebEngineForNode } from "./web-engine.ts";
export { fsBundleSource } from "./fs-source.ts";
export { initNodeDecoders } from "@siglip-edge/preprocess/node";
export { createKernelsEngineForNode } from "./kernels-engine.ts";
