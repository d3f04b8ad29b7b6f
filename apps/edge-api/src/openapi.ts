/** `GET /openapi.json`: generated from the zod schemas that validate requests (schemas.ts). */
import { z } from "zod";
import { API_ERROR_TABLE } from "./errors.ts";
import * as S from "./schemas.ts";

const json = (schema: z.ZodType, io: "input" | "output") => ({
  "application/json": { schema: z.toJSONSchema(schema, { target: "openapi-3.0", io, unrepresentable: "any" }) },
});

function errors(...codes: (keyof typeof API_ERROR_TABLE)[]) {
  const out: Record<string, { description: string; content: ReturnType<typeof json> }> = {};
  for (const c of codes) {
    const status = String(API_ERROR_TABLE[c].status);
    const prev = out[status];
    out[status] = { description: prev ? `${prev.description}, ${c}` : c, content: json(S.ErrorResponse, "output") };
  }
  return out;
}

export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const common = errors("invalid_api_key", "rate_limited", "overloaded", "internal_error", "model_unavailable");
  return {
    openapi: "3.0.3",
    info: {
      title: "siglip-edge API",
      version: "0.1.0",
      description:
        "SigLIP 2 embeddings (OpenAI-compatible) and zero-shot image classification, FixRes and NaFlex models (NaFlex: native aspect ratio, max_num_patches per request). Output types float, int8, uint8, binary, ubinary (embedding_type). Every response carries an x-request-id header.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    security: [{ bearer: [] }],
    paths: {
      "/v1/embeddings": {
        post: {
          summary: "Embed texts and images",
          requestBody: { required: true, content: json(S.EmbeddingsRequest, "input") },
          responses: {
            "200": { description: "Embeddings", content: json(S.EmbeddingsResponse, "output") },
            ...errors("invalid_request", "dimensions_not_supported", "max_num_patches_not_supported", "unsupported_max_num_patches", "unsupported_embedding_type", "model_not_found", "payload_too_large", "unsupported_media_type", "image_decode_failed"),
            ...common,
          },
        },
      },
      "/v1/classify": {
        post: {
          summary: "Zero-shot image classification (sigmoid scores)",
          requestBody: { required: true, content: json(S.ClassifyRequest, "input") },
          responses: {
            "200": { description: "Scores per image", content: json(S.ClassifyResponse, "output") },
            ...errors("invalid_request", "max_num_patches_not_supported", "unsupported_max_num_patches", "model_not_found", "payload_too_large", "unsupported_media_type", "image_decode_failed"),
            ...common,
          },
        },
      },
      "/v1/models": {
        get: { summary: "Served models", responses: { "200": { description: "Models", content: json(S.ModelList, "output") }, ...common } },
      },
      "/healthz": {
        get: { summary: "Liveness", security: [], responses: { "200": { description: "OK", content: json(S.Health, "output") } } },
      },
    },
  };
}
