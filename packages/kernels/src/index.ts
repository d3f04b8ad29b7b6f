export * from "./arena.ts";
export * from "./weights.ts";
export * from "./kernels.ts";
export * from "./layer.ts";
export * from "./format.ts";
export * from "./pack.ts";
export * from "./tower.ts";
