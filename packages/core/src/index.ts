export * from "./errors.ts";
export * from "./registry.ts";
export * from "./tensor.ts";
export * from "./embedding.ts";
export * from "./npy.ts";
export * from "./resample.ts";
export * from "./random.ts";
export * from "./sha256.ts";
