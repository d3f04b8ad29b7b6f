/**
 * Request and response schemas (zod). Validation and `/openapi.json` use these same objects, so the published
 * contract cannot drift from what the server enforces.
 * @module
 */
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

export const EmbeddingsRequest = z.object({
  model: z.string().min(1).describe("A model id from GET /v1/models"),
  input: z
    .union([z.string(), z.array(z.string()).min(1), z.array(InputPart).min(1)])
    .describe("A string, an array of strings, or an array of typed parts (text and image_url)"),
  encoding_format: z
    .enum(["float", "base64"])
    .optional()
    .describe("float: JSON numbers; base64: little-endian float32 bytes"),
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
      embedding: z.union([z.array(z.number()), z.string()]),
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
