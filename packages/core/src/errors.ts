/**
 * Typed errors with stable codes. Packages throw `SiglipError`; apps map `code` to HTTP statuses or exit codes.
 * Checks use a `Symbol.for` brand, not `instanceof`, so they survive duplicate copies of this package
 * (two bundles, a Worker and its service binding, a CLI loading a second copy).
 * @module
 */

/** Every stable error code. Adding one is an API change: apps keep a `code -> status` table. */
export const ERROR_CODES = [
  // generic
  "INVALID_ARGUMENT",
  "SHAPE_MISMATCH",
  "DTYPE_MISMATCH",
  "NOT_FOUND",
  "INTERNAL",
  // registry and checkpoints
  "UNKNOWN_CHECKPOINT",
  "UNKNOWN_MODEL_TYPE",
  "CHECKPOINT_INVALID",
  "INTEGRITY_MISMATCH",
  "DOWNLOAD_FAILED",
  // tokenizer
  "TOKENIZER_LOAD_FAILED",
  "VOCAB_FORMAT_INVALID",
  "TEXT_INVALID",
  "TEXT_TOO_LONG",
  // images
  "IMAGE_DECODE_FAILED",
  "IMAGE_TOO_LARGE",
  "IMAGE_UNSUPPORTED_FORMAT",
  // inference
  "MODEL_LOAD_FAILED",
  "INFERENCE_FAILED",
  "BACKEND_UNAVAILABLE",
  "BACKEND_TIMEOUT",
  "BACKEND_BAD_RESPONSE",
  "OVERLOADED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND: unique symbol = Symbol.for("siglip-edge.error") as never;

export interface SiglipErrorOptions {
  cause?: unknown;
  /** Extra structured facts for logs and API bodies (never secrets). */
  details?: Record<string, unknown>;
}

export class SiglipError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: SiglipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SiglipError";
    this.code = code;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** True for any `SiglipError`, whichever copy of this package created it. */
export function isSiglipError(value: unknown): value is SiglipError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** True for a `SiglipError` with one of the given codes. */
export function hasErrorCode(value: unknown, ...codes: ErrorCode[]): value is SiglipError {
  return isSiglipError(value) && codes.includes(value.code);
}

/** Shorthand for `throw new SiglipError(...)` in expression position. */
export function fail(code: ErrorCode, message: string, options?: SiglipErrorOptions): never {
  throw new SiglipError(code, message, options);
}
