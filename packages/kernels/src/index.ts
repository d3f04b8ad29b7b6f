export * from "./arena.ts";
export * from "./weights.ts";
export * from "./kernels.ts";
export * from "./layer.ts";
