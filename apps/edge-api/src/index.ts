export { createApp, type AppDeps } from "./app.ts";
export { configFromVars, DEFAULT_CONFIG, type ApiConfig } from "./config.ts";
export { API_ERROR_TABLE, ApiError, type ApiErrorCode } from "./errors.ts";
export { openApiDocument } from "./openapi.ts";
export type { ImageFetchPolicy, Resolver } from "./image-input.ts";
