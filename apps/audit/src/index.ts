export * from "./languages.ts";
export * from "./prompt-sets.ts";
export * from "./dataset.ts";
export * from "./report-schema.ts";
export * from "./compute.ts";
export * from "./compare.ts";
export * from "./dashboard.ts";
export * from "./byoe.ts";
