/** `siglip embed`: one JSON object per input, `{"input": ..., "embedding": [...]}`, L2-normalised unless --raw. */
import { l2Normalize } from "@siglip-edge/core";
import type { LowercaseMode } from "@siglip-edge/tokenizer";
import { listFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";
import { embedImages, embedTexts, MODEL_FLAGS, openModel } from "./embed-common.ts";

const USAGE = `siglip embed --model BUNDLE_DIR|MODEL_ID|tiny (--text T ... | --image PATH ...) [--raw] [--tokenizer PATH] [--lowercase MODE] [--revision R] [--dtype D]
  Prints one JSON line per input: {"input": ..., "embedding": [...]} (L2-normalised unless --raw).
  MODEL_ID must have been fetched with \`siglip pull\` (cache: SIGLIP_CACHE); tiny / tiny-naflex are offline
  random-weight models with the real Gemma vocabulary, generated into the cache on first use.`;

export const command: Command = {
  summary: "text or image embeddings as JSON lines",
  usage: USAGE,
  async run(argv, io) {
    // --image repeats here (one or more files), unlike classify's single image.
    const args = parseArgs(argv, { ...MODEL_FLAGS, text: { type: "list", short: "t" }, image: { type: "list", short: "i" }, raw: { type: "boolean" } });
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
    const model = stringFlag(args, "model");
    if (model === undefined) throw new UsageError("--model is required");
    const texts = listFlag(args, "text");
    const images = listFlag(args, "image");
    if ((texts.length === 0) === (images.length === 0)) throw new UsageError("give --text ... or --image ... (one kind per call)");
    const m = await openModel(model, io, { revision: stringFlag(args, "revision"), dtype: stringFlag(args, "dtype"), tokenizer: stringFlag(args, "tokenizer") });
    try {
      const inputs = texts.length > 0 ? texts : images;
      const vecs = texts.length > 0 ? await embedTexts(m, texts, stringFlag(args, "lowercase") as LowercaseMode | undefined) : await embedImages(m, images);
      for (let i = 0; i < inputs.length; i++) {
        const v = args.flags["raw"] === true ? (vecs[i] as Float32Array) : l2Normalize(vecs[i] as Float32Array);
        await write(io.stdout, JSON.stringify({ input: inputs[i], embedding: Array.from(v) }) + "\n");
      }
    } finally {
      await m.close();
    }
    return 0;
  },
};
