export { startDevBackend, SERVER_NAME, SERVER_VERSION, type DevBackend, type DevBackendOptions } from "./dev-backend.ts";
export { towerModels, type BundleSpec, type TensorSpec, type TowerModel } from "./bundle-models.ts";
export { modelConfig, writeTritonRepo, readModelConfig, type TritonRepoOptions, type TritonRepoResult } from "./triton-repo.ts";
