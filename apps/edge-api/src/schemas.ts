/**
 * Request and response schemas (zod). Validation and `/openapi.json` use these same objects, so the published
 * contract cannot drift from what the server enforces.
 * @module
 */
import { EMBEDDING_TYPES } from "@siglip-edge/core";
import type { LowercaseMode } from "@siglip-edge/runtime";
import { z } from "zod";

const ImageUrl = z
  .string()
  .min(1)
  .describe("An https URL, or a data: URI with a base64 image (data:image/png;base64,...)");

/** Lowercasing before tokenizing: true = "ascii" (what SigLIP 2 was trained on, the default), false = "none". */
export const Lowercase = z
  .union([z.boolean(), z.enum(["none", "ascii", "unicode"])])
  .describe('Lowercase texts before tokenizing: "ascii" (default; as in training), "unicode" (transformers 5), "none" or false (transformers 4)');

/** The tokenizer mode for a request's `lowercase` field (undefined: the tokenizer default). */
export function lowercaseMode(v: boolean | LowercaseMode | undefined): LowercaseMode | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return v ? "ascii" : "none";
  return v;
}

export const TextPart = z.object({ type: z.literal("text"), text: z.string() });
export const ImagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.union([z.object({ url: ImageUrl }), ImageUrl]),
});
export const InputPart = z.discriminatedUnion("type", [TextPart, ImagePart]);

/** NaFlex models: the patch budget of the request's images. */
export const MaxNumPatches = z
  .number()
  .int()
  .positive()
  .describe(
    "NaFlex models only (GET /v1/models: max_num_patches): the patch budget N of each image (Hugging Face's max_num_patches). The image keeps its aspect ratio and is resized so that its grid of 16 x 16 patches has at most N patches (HF's binary search); one of the model's allowed values (the model card's 256 default, 576, 784, 1024, capped per deployment). 400 max_num_patches_not_supported on a FixRes model, 400 unsupported_max_num_patches for a value outside the set",
  );

/** The output type of each embedding and its quantisation rule (core's embedding-types.ts, the one codec). */
export const EmbeddingType = z
  .enum(EMBEDDING_TYPES)
  .describe(
    [
      "Output type of each embedding (default float), applied to the embedding as returned (L2-normalised unless normalize is false).",
      "float: float32 values.",
      "int8: one scale per vector, scale = max_i |v_i| / 127 (float32, returned as data[].scale; 0 for a zero vector), q_i = round(v_i / scale) with halves away from zero, in [-127, 127]; v_i ~ q_i * scale within scale / 2. Cosine of the int8 vectors approximates cosine of the floats.",
      "uint8: the int8 values plus 128, in [1, 255], with the same scale: v_i ~ (q_i - 128) * scale.",
      "ubinary: one bit per dimension, 1 where v_i > 0, packed MSB-first (dimension 8k + j is bit 7 - j of byte k; the last byte zero-padded): ceil(D / 8) unsigned bytes (numpy packbits(v > 0)); rank by Hamming distance.",
      "binary: the ubinary bytes minus 128, as signed values in [-128, 127] (sentence-transformers' and Cohere's binary; add 128 to get the bits).",
      "With encoding_format float the values are JSON numbers (integers for every type but float); with base64 they are the bytes: float32 little-endian, int8 and binary as two's complement bytes, uint8 and ubinary as they are.",
      "An unknown type is 400 unsupported_embedding_type.",
    ].join(" "),
  );

export const EmbeddingsRequest = z.object({
  model: z.string().min(1).describe("A model id from GET /v1/models"),
  input: z
    .union([z.string(), z.array(z.string()).min(1), z.array(InputPart).min(1)])
    .describe("A string, an array of strings, or an array of typed parts (text and image_url)"),
  encoding_format: z
    .enum(["float", "base64"])
    .optional()
    .describe("float: JSON numbers; base64: the values' bytes (little-endian float32 for embedding_type float; one byte per value or per 8 bits otherwise)"),
  embedding_type: EmbeddingType.optional(),
  max_num_patches: MaxNumPatches.optional(),
  normalize: z.boolean().optional().describe("L2-normalise each embedding (default true)"),
  dimensions: z
    .number()
    .optional()
    .describe("Not supported: SigLIP is not Matryoshka-trained, so truncated embeddings lose quality"),
  lowercase: Lowercase.optional(),
  user: z.string().optional().describe("Accepted for OpenAI compatibility; ignored"),
});
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequest>;

export const EmbeddingsResponse = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({
      object: z.literal("embedding"),
      index: z.number().int(),
      embedding: z.union([z.array(z.number()), z.string()]).describe("The embedding in embedding_type, as JSON numbers or base64 (encoding_format)"),
      scale: z.number().optional().describe("int8 and uint8 only: the vector's scale (v_i ~ q_i * scale; uint8: (q_i - 128) * scale)"),
    }),
  ),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int(), images: z.number().int() }),
});

export const ClassifyRequest = z.object({
  model: z.string().min(1),
  images: z.array(ImageUrl).min(1).describe("Images as https URLs or data: URIs"),
  labels: z.array(z.string().min(1)).min(1).describe("Candidate labels, in any language"),
  template: z.string().optional().describe('Prompt template with a {} placeholder; default "This is a photo of {}."'),
  templates: z.array(z.string()).min(1).optional().describe("Several templates: their normalised embeddings are averaged"),
  lowercase: Lowercase.optional(),
  max_num_patches: MaxNumPatches.optional(),
});
export type ClassifyRequest = z.infer<typeof ClassifyRequest>;

export const ClassifyResponse = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({
      index: z.number().int(),
      scores: z.array(z.object({ label: z.string(), score: z.number() })).describe("Sorted by descending sigmoid score"),
    }),
  ),
  model: z.string(),
});

export const ModelObject = z.object({
  id: z.string(),
  object: z.literal("model"),
  created: z.number().int(),
  owned_by: z.string(),
  family: z.enum(["fixres", "naflex"]),
  size: z.string(),
  revision: z.string(),
  embedding_dimensions: z.number().int(),
  quantization: z.string(),
  runs_on: z.string(),
  image_size: z.number().int().nullable().describe("FixRes: the square input side in pixels; null for NaFlex"),
  max_num_patches: z
    .object({
      default: z.number().int().describe("The patch budget of a request without max_num_patches"),
      allowed: z.array(z.number().int()).describe("The values max_num_patches takes on this deployment"),
      patch_size: z.number().int(),
    })
    .nullable()
    .describe("NaFlex (native aspect ratio, variable sequence length): the patch budgets it takes; null for FixRes"),
});
export const ModelList = z.object({ object: z.literal("list"), data: z.array(ModelObject) });

export const ErrorResponse = z.object({
  error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string() }),
});

export const Health = z.object({ status: z.literal("ok") });

/** `input[2].image_url.url` style parameter path for error messages. */
export function paramPath(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}
