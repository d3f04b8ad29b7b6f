/** `siglip convert`: a Hugging Face checkpoint directory to an ONNX bundle (or the transformers.js layout). */
import { convertCheckpoint, openCheckpoint, WEIGHT_DTYPES, type WeightDType } from "@siglip-edge/export";
import { intFlag, parseArgs, stringFlag, stringFlags, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";

const USAGE = `siglip convert CHECKPOINT_DIR --out BUNDLE_DIR [--dtype fp32|fp16|int8|q4] [--layout bundle|transformers.js] [--id ID] [--revision R] [--stages N]
  Reads config.json + model.safetensors (or a sharded index), writes ONNX graphs with external data and manifest.json.
  --dtype    weights: fp32 (default), fp16 storage, int8 per-channel, q4 (4-bit MLP weights, int8 elsewhere)
  --layout   bundle (default; siglip-edge runtime) or transformers.js (onnx/vision_model.onnx, onnx/text_model.onnx, configs)
  --id       checkpoint id recorded in the manifest (default: the directory)
  --stages   also split the vision and split-text towers into N stage graphs sharing the towers' data files
             (one edge Worker per stage); 1 (default) to the layers of the shorter tower`;

export const command: Command = {
  summary: "Hugging Face checkpoint directory to an ONNX bundle",
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, {
      out: { type: "string", short: "o" },
      ...stringFlags("id", "revision", "stages"),
      dtype: { type: "string", choices: WEIGHT_DTYPES },
      layout: { type: "string", choices: ["bundle", "transformers.js"] },
    });
    const [dir, extra] = args.positionals;
    if (dir === undefined) throw new UsageError("missing CHECKPOINT_DIR");
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const out = stringFlag(args, "out");
    if (out === undefined) throw new UsageError("--out BUNDLE_DIR is required");
    const dtype = (stringFlag(args, "dtype") ?? "fp32") as WeightDType;
    const layout = stringFlag(args, "layout") ?? "bundle";
    let stages = 1;
    if (stringFlag(args, "stages") !== undefined) {
      if (layout !== "bundle") throw new UsageError("--stages applies to the bundle layout only");
      const c = (await openCheckpoint(dir)).config; // the bound is the checkpoint's layer count
      stages = intFlag(args, "stages", 1, Math.min(c.vision.numLayers, c.text.numLayers));
    }
    const t0 = Date.now();
    if (layout === "transformers.js") {
      const { exportTransformersJs } = await import("@siglip-edge/export");
      const files = await exportTransformersJs(dir, out, { dtype });
      await write(io.stderr, `wrote ${files.length} files (transformers.js layout) to ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      return 0;
    }
    const m = await convertCheckpoint(dir, out, {
      dtype,
      checkpointId: stringFlag(args, "id") ?? dir,
      revision: stringFlag(args, "revision") ?? null,
      stages,
      log: (line) => void write(io.stderr, `convert: ${line}\n`),
    });
    const bytes = m.files.reduce((a, f) => a + f.bytes, 0);
    await write(io.stderr, `wrote ${m.family} ${dtype} bundle (${m.files.length} files, ${(bytes / 1e6).toFixed(1)} MB) to ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return 0;
  },
};
