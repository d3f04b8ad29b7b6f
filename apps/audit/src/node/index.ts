export * from "./cache.ts";
export * from "./providers.ts";
export * from "./run.ts";
export * from "./edge-api-provider.ts";
export * from "./thumbnails.ts";
