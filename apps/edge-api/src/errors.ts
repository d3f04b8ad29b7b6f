/**
 * API errors in the OpenAI envelope `{error:{message, type, param, code}}`. One table maps each stable API code to
 * its HTTP status and OpenAI error type; `SiglipError` codes from the packages map onto it. 5xx messages are generic:
 * internals (stack traces, file paths, ORT messages) stay in the logs.
 * @module
 */
import { isSiglipError, type ErrorCode } from "@siglip-edge/core";

export const API_ERROR_TABLE = {
  invalid_request: { status: 400, type: "invalid_request_error" },
  invalid_json: { status: 400, type: "invalid_request_error" },
  dimensions_not_supported: { status: 400, type: "invalid_request_error" },
  max_num_patches_not_supported: { status: 400, type: "invalid_request_error" },
  unsupported_max_num_patches: { status: 400, type: "invalid_request_error" },
  unsupported_embedding_type: { status: 400, type: "invalid_request_error" },
  too_many_inputs: { status: 400, type: "invalid_request_error" },
  image_url_forbidden: { status: 400, type: "invalid_request_error" },
  image_url_disabled: { status: 400, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  payload_too_large: { status: 413, type: "invalid_request_error" },
  unsupported_media_type: { status: 415, type: "invalid_request_error" },
  image_decode_failed: { status: 422, type: "invalid_request_error" },
  image_fetch_failed: { status: 422, type: "invalid_request_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  overloaded: { status: 429, type: "rate_limit_error" },
  internal_error: { status: 500, type: "server_error" },
  model_unavailable: { status: 503, type: "server_error" },
} as const satisfies Record<string, { status: number; type: string }>;

export type ApiErrorCode = keyof typeof API_ERROR_TABLE;

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: ApiErrorCode };
}

/** An error the API reports as is (message shown to the client). */
export class ApiError extends Error {
  override name = "ApiError";
  readonly code: ApiErrorCode;
  readonly param: string | null;
  /** Seconds, for 429. */
  readonly retryAfter: number | undefined;

  constructor(code: ApiErrorCode, message: string, options: { param?: string | null; retryAfter?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.param = options.param ?? null;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return API_ERROR_TABLE[this.code].status;
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: API_ERROR_TABLE[this.code].type, param: this.param, code: this.code } };
  }
}

/** Package error codes whose message is safe and useful to show, and the API code they become. */
const FROM_SIGLIP: Partial<Record<ErrorCode, ApiErrorCode>> = {
  INVALID_ARGUMENT: "invalid_request",
  TEXT_INVALID: "invalid_request",
  TEXT_TOO_LONG: "invalid_request",
  UNKNOWN_CHECKPOINT: "model_not_found",
  IMAGE_DECODE_FAILED: "image_decode_failed",
  IMAGE_UNSUPPORTED_FORMAT: "image_decode_failed",
  IMAGE_TOO_LARGE: "image_decode_failed",
  OVERLOADED: "overloaded",
};

/** Package error codes that mean "the model cannot serve now": a generic 503. */
const UNAVAILABLE: ReadonlySet<ErrorCode> = new Set([
  "MODEL_LOAD_FAILED",
  "BACKEND_UNAVAILABLE",
  "BACKEND_TIMEOUT",
  "DOWNLOAD_FAILED",
  "INTEGRITY_MISMATCH",
  "NOT_FOUND", // a bundle file missing from R2 or disk: the deployment is broken, not the request
  "CHECKPOINT_INVALID",
  "TOKENIZER_LOAD_FAILED",
]);

/**
 * Turns anything thrown into an `ApiError`; unknown errors become a generic 500. `imageParams` names the request
 * field of each image, for errors that carry `details.imageIndex`.
 */
export function toApiError(err: unknown, imageParams: readonly string[] = []): ApiError {
  if (err instanceof ApiError) return err;
  if (isSiglipError(err)) {
    const code = FROM_SIGLIP[err.code];
    const idx = err.details?.["imageIndex"];
    const param = typeof idx === "number" ? (imageParams[idx] ?? null) : null;
    if (code !== undefined) return new ApiError(code, err.message, { cause: err, param, ...(code === "overloaded" ? { retryAfter: 1 } : {}) });
    if (UNAVAILABLE.has(err.code)) return new ApiError("model_unavailable", "the model is not available right now", { cause: err });
  }
  return new ApiError("internal_error", "internal error", { cause: err });
}
