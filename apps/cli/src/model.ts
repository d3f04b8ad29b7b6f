/**
 * The CLI's one `--model` resolver: every command that opens a bundle (serve, embed, classify, audit run, backend,
 * triton-repo) goes through `resolveBundle`, i.e. export's `resolveModel` (a bundle directory, `tiny` /
 * `tiny-naflex` generated offline on first use, or a pulled hub id) with the command's environment, and a note on
 * stderr while the offline model is generated.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BundleSpec } from "@siglip-edge/backend";
import { resolveModel } from "@siglip-edge/export";
import type { CommandIO } from "./io.ts";

export function resolveBundle(spec: string, io: CommandIO, opts: { revision?: string | undefined; dtype?: string | undefined } = {}): Promise<string> {
  return resolveModel(spec, {
    env: io.env,
    ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
    ...(opts.dtype !== undefined ? { dtype: opts.dtype } : {}),
    log: (line) => void io.stderr.write(`siglip: ${line}\n`),
  });
}

/**
 * `MODEL[=NAME]` for the KServe backend and the Triton repository: NAME defaults to the folder name of a directory,
 * else to the model name (`tiny`, or NAME of OWNER/NAME).
 */
export async function resolveBundleSpec(s: string, io: CommandIO): Promise<BundleSpec> {
  const eq = s.lastIndexOf("=");
  const model = eq > 0 ? s.slice(0, eq) : s;
  const dir = await resolveBundle(model, io);
  if (eq > 0) return { dir, name: s.slice(eq + 1) };
  return existsSync(join(model, "manifest.json")) ? { dir } : { dir, name: model.slice(model.lastIndexOf("/") + 1) };
}
