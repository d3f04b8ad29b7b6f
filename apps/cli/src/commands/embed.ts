/**
 * `siglip embed`: one JSON object per input, `{"input": ..., "embedding": [...]}`, L2-normalised unless --raw; with
 * `--type` the embedding in that type by the API's rule (core's embedding-types.ts), `"scale"` for int8 / uint8.
 */
import { EMBEDDING_TYPES, embeddingToBase64, embeddingToJson, l2Normalize, quantizeEmbedding, type EmbeddingType } from "@siglip-edge/core";
import type { LowercaseMode } from "@siglip-edge/tokenizer";
import { listFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";
import { embedImages, embedTexts, imageOptionsFlag, MODEL_FLAGS, openModel } from "./embed-common.ts";

const USAGE = `siglip embed --model BUNDLE_DIR|MODEL_ID|tiny (--text T ... | --image PATH ...) [--raw] [--type T] [--encoding float|base64]
             [--max-num-patches N] [--tokenizer PATH] [--lowercase MODE] [--revision R] [--dtype D]
  Prints one JSON line per input: {"input": ..., "embedding": [...]} (L2-normalised unless --raw).
  --type float|int8|uint8|binary|ubinary  the embedding type, by the API's rule: int8 = round(v / scale) with
             scale = max|v| / 127 (printed as "scale"; uint8 = int8 + 128); ubinary = sign bits (v > 0) packed MSB-first,
             binary = ubinary - 128 (as the API's embedding_type)
  --encoding base64  the values' bytes in base64 (float32 little-endian; one byte per value or per 8 bits otherwise)
  --max-num-patches N  NaFlex models: the patch budget of each image (256 default, 576, 784, 1024)
  MODEL_ID must have been fetched with \`siglip pull\` (cache: SIGLIP_CACHE); tiny / tiny-naflex are offline
  random-weight models with the real Gemma vocabulary, generated into the cache on first use.`;

export const command: Command = {
  summary: "text or image embeddings as JSON lines",
  usage: USAGE,
  async run(argv, io) {
    // --image repeats here (one or more files), unlike classify's single image.
    const args = parseArgs(argv, {
      ...MODEL_FLAGS,
      text: { type: "list", short: "t" },
      image: { type: "list", short: "i" },
      raw: { type: "boolean" },
      type: { type: "string", choices: EMBEDDING_TYPES },
      encoding: { type: "string", choices: ["float", "base64"] },
    });
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
    const model = stringFlag(args, "model");
    if (model === undefined) throw new UsageError("--model is required");
    const texts = listFlag(args, "text");
    const images = listFlag(args, "image");
    if ((texts.length === 0) === (images.length === 0)) throw new UsageError("give --text ... or --image ... (one kind per call)");
    const imageOptions = imageOptionsFlag(args);
    const type = (stringFlag(args, "type") ?? "float") as EmbeddingType;
    const m = await openModel(model, io, { revision: stringFlag(args, "revision"), dtype: stringFlag(args, "dtype"), tokenizer: stringFlag(args, "tokenizer") });
    try {
      if (texts.length > 0 && imageOptions.maxNumPatches !== undefined) m.patchBudget(imageOptions); // refused on FixRes models here too
      const inputs = texts.length > 0 ? texts : images;
      const vecs = texts.length > 0 ? await embedTexts(m, texts, stringFlag(args, "lowercase") as LowercaseMode | undefined) : await embedImages(m, images, imageOptions);
      for (let i = 0; i < inputs.length; i++) {
        const q = quantizeEmbedding(args.flags["raw"] === true ? (vecs[i] as Float32Array) : l2Normalize(vecs[i] as Float32Array), type);
        const embedding = stringFlag(args, "encoding") === "base64" ? embeddingToBase64(q) : embeddingToJson(q);
        await write(io.stdout, JSON.stringify({ input: inputs[i], embedding, ...("scale" in q ? { scale: q.scale } : {}) }) + "\n");
      }
    } finally {
      await m.close();
    }
    return 0;
  },
};
