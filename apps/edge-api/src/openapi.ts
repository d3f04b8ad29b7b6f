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

/** The errors every authenticated endpoint can answer. */
const COMMON_ERRORS = ["invalid_api_key", "rate_limited", "overloaded", "internal_error", "model_unavailable"] as const;

/** A POST operation with a required JSON body, its 200 answer, its own errors and the common ones. */
function postJson(summary: string, request: z.ZodType, description: string, response: z.ZodType, own: (keyof typeof API_ERROR_TABLE)[]) {
  return {
    summary,
    requestBody: { required: true, content: json(request, "input") },
    responses: { "200": { description, content: json(response, "output") }, ...errors(...own), ...errors(...COMMON_ERRORS) },
  };
}

export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const common = errors(...COMMON_ERRORS);
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
        post: postJson("Embed texts and images", S.EmbeddingsRequest, "Embeddings", S.EmbeddingsResponse, [
          "invalid_request", "dimensions_not_supported", "max_num_patches_not_supported", "unsupported_max_num_patches", "unsupported_embedding_type", "model_not_found", "payload_too_large", "unsupported_media_type", "image_decode_failed",
        ]),
      },
      "/v1/classify": {
        post: postJson("Zero-shot image classification (sigmoid scores)", S.ClassifyRequest, "Scores per image", S.ClassifyResponse, [
          "invalid_request", "max_num_patches_not_supported", "unsupported_max_num_patches", "model_not_found", "payload_too_large", "unsupported_media_type", "image_decode_failed",
        ]),
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
