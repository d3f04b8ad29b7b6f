/** `siglip backend`: the KServe v2 dev backend (a CPU stand-in for Triton in development and tests). */
import { startDevBackend } from "@siglip-edge/backend";
import { intFlag, listFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { untilSignal, write, type Command } from "../io.ts";
import { resolveBundleSpec } from "../model.ts";

const USAGE = `siglip backend --model BUNDLE_DIR|MODEL_ID|tiny[=NAME]... [--port 8000] [--host 127.0.0.1] [--threads 1]
  Serves each bundle as two KServe v2 models, NAME-vision and NAME-text (NAME defaults to the folder name, or the
  model name for a pulled hub id or the offline \`tiny\` / \`tiny-naflex\`), over
  the REST subset the edge API uses: health, server and model metadata, POST /v2/repository/index, infer in JSON
  and with Triton's binary tensor extension. CPU only (onnxruntime-node): a stand-in for NVIDIA Triton for local
  development and tests, not a replacement (no dynamic batching, no GPU, no gRPC). For production use
  \`siglip triton-repo\`.`;

/** Starts the backend; resolves once it listens. Exported for tests. */
export async function startBackend(argv: readonly string[], io: Parameters<Command["run"]>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const args = parseArgs(argv, { model: { type: "list", short: "m" }, port: { type: "string", short: "p" }, host: { type: "string" }, threads: { type: "string" } });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const models = listFlag(args, "model");
  if (models.length === 0) throw new UsageError("--model is required (a bundle directory, a pulled hub id, or tiny)");
  const specs = await Promise.all(models.map((m) => resolveBundleSpec(m, io)));
  const port = stringFlag(args, "port") === "0" ? 0 : intFlag(args, "port", 8000, 65535);
  const b = await startDevBackend({ bundles: specs, threads: intFlag(args, "threads", 1, 64) }, { port, host: stringFlag(args, "host") ?? "127.0.0.1" });
  await write(io.stdout, `siglip backend: KServe v2 dev backend (CPU stand-in for Triton, not a replacement) on ${b.url}; models: ${b.models.map((m) => m.name).join(", ")}\n`);
  return { url: b.url, close: () => b.close() };
}

export const command: Command = {
  summary: "serve bundles over KServe v2 on CPU (a dev stand-in for Triton)",
  usage: USAGE,
  async run(argv, io) {
    return untilSignal(await startBackend(argv, io));
  },
};
