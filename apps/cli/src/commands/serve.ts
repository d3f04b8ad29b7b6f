/**
 * `siglip serve`: the edge API's Hono app on Node with onnxruntime-node, for self-hosting without Cloudflare.
 * Same routes, validation, errors and limits as the Worker; settings from flags and the same environment variables
 * (API_KEY_HASHES, MAX_BODY_BYTES, MAX_IMAGES, MAX_TEXTS, RATE_LIMIT_PER_MINUTE, IMAGE_URLS=off, ...).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GEMMA_VOCAB_SIZE } from "@siglip-edge/core";
import { createApp, configFromVars, localModelProvider, nodeResolver, parseBackendRoutes, routedProvider, serveFetch, withBackendRouting, type LocalModel } from "@siglip-edge/edge-api/node";
import { readManifest, SGTK_FILE } from "@siglip-edge/runtime";
import { fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { intFlag, listFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { untilSignal, write, type Command, type CommandIO } from "../io.ts";
import { resolveBundle } from "../model.ts";

const USAGE = `siglip serve --model BUNDLE_DIR|MODEL_ID|tiny [--model ...] [--port 8080] [--host 127.0.0.1] [--engine node|web] [--threads N]
  Serves POST /v1/embeddings, POST /v1/classify, GET /v1/models, /healthz, /openapi.json, /docs.
  --model    a bundle directory, a hub id fetched with \`siglip pull\`, or tiny / tiny-naflex (offline random-weight
             models, generated on first use); repeat to serve several
  --engine   node: onnxruntime-node, native CPU (default); web: onnxruntime-web (WASM), as in the Worker
  Settings from the environment: API_KEY_HASHES (comma-separated sha256 hex of accepted keys; empty = no auth),
  MAX_BODY_BYTES, MAX_IMAGES, MAX_TEXTS, RATE_LIMIT_PER_MINUTE, MAX_CONCURRENT, IMAGE_URLS=off, SIGLIP_MODEL.`;

async function localModel(spec: string, io: CommandIO): Promise<LocalModel> {
  const dir = await resolveBundle(spec, io);
  const manifest = await readManifest(fsBundleSource(dir));
  const model: LocalModel = { dir, id: existsSync(join(spec, "manifest.json")) ? manifest.checkpoint.id : spec };
  if (manifest.text.tokenizer === null && !existsSync(join(dir, SGTK_FILE))) {
    model.tokenizer = await loadTokenizer(devTokenizerJsonPath(), { cacheDir: io.env["SIGLIP_NO_CACHE"] ? null : undefined });
  }
  // Real SigLIP 2 checkpoints have the 256000-row Gemma table; smaller tables are random-weight test fixtures.
  if (manifest.tokenTable.rows < GEMMA_VOCAB_SIZE) {
    model.foldTokenIds = true;
    await write(io.stderr, `siglip serve: ${model.id} has a ${manifest.tokenTable.rows}-row token table (random-weight fixture): token ids are folded\n`);
  }
  return model;
}

/** Starts the server; resolves once it listens. Exported for tests. */
export async function startServe(argv: readonly string[], io: CommandIO): Promise<{ url: string; close: () => Promise<void> }> {
  const args = parseArgs(argv, {
    model: { type: "list", short: "m" },
    port: { type: "string", short: "p" },
    host: { type: "string" },
    engine: { type: "string", choices: ["node", "web"] },
    threads: { type: "string" },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const specs = listFlag(args, "model");
  if (specs.length === 0 && io.env["SIGLIP_MODEL"]) specs.push(io.env["SIGLIP_MODEL"]);
  // MODEL_BACKENDS (JSON) routes models to KServe v2 / Triton backends; their `bundle` is a local bundle directory.
  const routes = parseBackendRoutes(io.env);
  if (specs.length === 0 && routes.models.length === 0) throw new UsageError("--model is required (a bundle directory or a pulled hub id; or set SIGLIP_MODEL or MODEL_BACKENDS)");
  const port = stringFlag(args, "port") === "0" ? 0 : intFlag(args, "port", 8080, 65535);
  const threads = intFlag(args, "threads", 1, 64);
  const models = await Promise.all(specs.map((s) => localModel(s, io)));
  const config = configFromVars(io.env);
  const local = localModelProvider(models, { engine: stringFlag(args, "engine") === "web" ? "onnxruntime-web" : "onnxruntime-node", threads });
  const app = withBackendRouting(
    createApp({
      config: { ...config, images: { ...config.images, resolver: nodeResolver } },
      models: routedProvider(local, routes, io.env, { source: fsBundleSource, initDecoders: initNodeDecoders }),
      logError: (id, err) => void write(io.stderr, `[${id}] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`),
    }),
  );
  const { server, url } = await serveFetch((req) => app.fetch(req), port, stringFlag(args, "host") ?? "127.0.0.1");
  await write(io.stdout, `siglip serve: listening on ${url} (models: ${[...models.map((m) => m.id), ...routes.models.map((r) => `${r.id} -> backend ${r.backend}`)].join(", ")}; auth ${config.apiKeyHashes.length > 0 ? "on" : "off"})\n`);
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export const command: Command = {
  summary: "serve the HTTP API (OpenAI-compatible embeddings, zero-shot classify) on Node",
  usage: USAGE,
  async run(argv, io) {
    return untilSignal(await startServe(argv, io));
  },
};
