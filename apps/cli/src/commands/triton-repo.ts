/** `siglip triton-repo`: an NVIDIA Triton model repository (config.pbtxt + ONNX) for bundles. */
import { writeTritonRepo } from "@siglip-edge/backend";
import { intFlag, parseArgs, stringFlag, stringFlags, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";
import { resolveBundleSpec } from "../model.ts";

const USAGE = `siglip triton-repo BUNDLE_DIR|MODEL_ID|tiny[=NAME]... --out DIR [--max-batch-size 64] [--instances 1] [--kind gpu|cpu]
                   [--max-queue-delay-us 2000] [--tensorrt-fp16]
  Writes NAME-vision and NAME-text per bundle (NAME defaults to the folder name, else the model name): config.pbtxt (onnxruntime backend,
  dynamic batching, instance group, optional TensorRT FP16) and 1/model.onnx with its weights. Serve it with
  \`tritonserver --model-repository=DIR\` and route models to it with MODEL_BACKENDS (see packages/backend/README.md).`;

export const command: Command = {
  summary: "write a Triton model repository for bundles",
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, {
      out: { type: "string", short: "o" },
      ...stringFlags("max-batch-size", "instances", "max-queue-delay-us"),
      kind: { type: "string", choices: ["gpu", "cpu"] },
      "tensorrt-fp16": { type: "boolean" },
    });
    const out = stringFlag(args, "out");
    if (out === undefined) throw new UsageError("--out DIR is required");
    if (args.positionals.length === 0) throw new UsageError("give at least one bundle directory");
    const specs = await Promise.all(args.positionals.map((m) => resolveBundleSpec(m, io)));
    const res = await writeTritonRepo(specs, out, {
      maxBatchSize: intFlag(args, "max-batch-size", 64, 1 << 16),
      instances: intFlag(args, "instances", 1, 1024),
      kind: stringFlag(args, "kind") === "cpu" ? "KIND_CPU" : "KIND_GPU",
      maxQueueDelayUs: intFlag(args, "max-queue-delay-us", 2000, 10_000_000),
      tensorrtFp16: args.flags["tensorrt-fp16"] === true,
    });
    for (const m of res.models) await write(io.stdout, `${out}/${m.name}: ${m.files.join(", ")}\n`);
    return 0;
  },
};
