export { startDevBackend, SERVER_NAME, SERVER_VERSION, type DevBackend, type DevBackendOptions } from "./dev-backend.ts";
export { towerModels, type BundleSpec, type TensorSpec, type TowerModel } from "./bundle-models.ts";
export { modelConfig, ensembleConfig, writeTritonRepo, readModelConfig, type TritonRepoOptions, type TritonRepoResult } from "./triton-repo.ts";
export { pixelGraph, PIXELS_INPUT, PIXELS_OUTPUT } from "./pixel-graph.ts";
