/** `siglip classify`: zero-shot sigmoid scores of one image against labels, highest first (siglip2-spec §11). */
import { cosine, sigmoid } from "@siglip-edge/core";
import { DEFAULT_TEMPLATE } from "@siglip-edge/runtime";
import type { LowercaseMode } from "@siglip-edge/tokenizer";
import { parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";
import { embedImages, embedTexts, MODEL_FLAGS, openModel } from "./embed-common.ts";

const USAGE = `siglip classify --model BUNDLE_DIR|MODEL_ID|tiny --image PATH --labels a,b,c [--template T] [--tokenizer PATH] [--lowercase MODE] [--revision R] [--dtype D]
  Prints one JSON line per label, highest first: {"label", "score" (sigmoid), "logit"}.
  Logit = cos(image, text) * exp(logit_scale) + logit_bias, the checkpoint's own scale and bias.
  --template  "{}" is replaced by the label (default "${DEFAULT_TEMPLATE}")`;

export const command: Command = {
  summary: "zero-shot image classification (sigmoid scores)",
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { ...MODEL_FLAGS, labels: { type: "string", short: "l" }, template: { type: "string" } });
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
    const model = stringFlag(args, "model");
    const image = stringFlag(args, "image");
    const labelsRaw = stringFlag(args, "labels");
    if (model === undefined || image === undefined || labelsRaw === undefined) throw new UsageError("--model, --image and --labels are required");
    const labels = labelsRaw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    if (labels.length === 0) throw new UsageError("--labels needs at least one label");
    const template = stringFlag(args, "template") ?? DEFAULT_TEMPLATE;
    if (!template.includes("{}")) throw new UsageError('--template must contain "{}"');
    const m = await openModel(model, io, { revision: stringFlag(args, "revision"), dtype: stringFlag(args, "dtype"), tokenizer: stringFlag(args, "tokenizer") });
    try {
      const [img] = await embedImages(m, [image]);
      const txt = await embedTexts(m, labels.map((l) => template.replaceAll("{}", l)), stringFlag(args, "lowercase") as LowercaseMode | undefined);
      const scale = Math.exp(m.logit.logitScale);
      const rows = labels.map((label, i) => {
        const logit = cosine(img as Float32Array, txt[i] as Float32Array) * scale + m.logit.logitBias;
        return { label, score: sigmoid(logit), logit };
      });
      rows.sort((a, b) => b.logit - a.logit);
      for (const r of rows) await write(io.stdout, JSON.stringify(r) + "\n");
    } finally {
      await m.close();
    }
    return 0;
  },
};
