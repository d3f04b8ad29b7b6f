export * from "./codec.ts";
export * from "./resilience.ts";
export * from "./client.ts";
export * from "./remote-towers.ts";
