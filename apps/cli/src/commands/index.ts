/**
 * The command table. Each entry loads its module lazily so `siglip tokenize` never pays for onnxruntime.
 * Add a command: one file in this folder exporting `command: Command`, one line here.
 */
import type { Command } from "../io.ts";

export const COMMANDS: Record<string, () => Promise<Command>> = {
  audit: async () => (await import("./audit.ts")).command,
  preprocess: async () => (await import("./preprocess.ts")).command,
  tokenize: async () => (await import("./tokenize.ts")).command,
  vocab: async () => (await import("./vocab.ts")).command,
  classify: async () => (await import("./classify.ts")).command,
  convert: async () => (await import("./convert.ts")).command,
  embed: async () => (await import("./embed.ts")).command,
  pull: async () => (await import("./pull.ts")).command,
  serve: async () => (await import("./serve.ts")).command,
  backend: async () => (await import("./backend.ts")).command,
  "triton-repo": async () => (await import("./triton-repo.ts")).command,
};
