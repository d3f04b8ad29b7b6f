export * from "./engine.ts";
export { createWebEngine, type WebEngineOptions } from "./ort-web/engine.ts";
