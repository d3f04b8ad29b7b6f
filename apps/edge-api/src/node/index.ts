export { localModelProvider, defaultModelId, type LocalModel, type LocalProviderOptions } from "./models.ts";
export { nodeResolver } from "./resolver.ts";
export { serveFetch, type FetchHandler } from "./server.ts";
export { LINGER } from "../limits.ts";
export { createApp, type AppDeps } from "../app.ts";
export { configFromVars, DEFAULT_CONFIG, type ApiConfig } from "../config.ts";
export { parseBackendRoutes, routedProvider, withBackendRouting, type BackendRoutes } from "../backend-routing.ts";
