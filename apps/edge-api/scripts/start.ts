/**
 * `npm start` (repo root): serves the API locally in workerd (`wrangler dev`) with a bundle in local R2.
 *
 *   npm start                                   google/siglip2-base-patch16-224 from the cache, pulled once if missing
 *   npm start -- --model tiny                   the offline random-weight model (generated once, seconds; also tiny-naflex)
 *   npm start -- --model DIR|OWNER/NAME         any bundle directory or hub id; also SIGLIP_MODEL=...
 *   npm start -- --port 8787 --dtype int8       (dtype of the pulled bundle; default fp32)
 *
 * Steps: resolve the bundle (export's resolveModel, as every `siglip` command; pull a missing hub id), make sure it has `tokenizer.sgtk` (fast to load in a Worker),
 * copy its files into wrangler's local R2 (`wrangler r2 object put --local`, skipped when already there), then run
 * `wrangler dev` with MODEL_BUNDLES pointing at it.
 */
import { spawnSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { isSiglipError } from "@siglip-edge/core";
import { bundleCacheDir, cacheRoot, OFFLINE_HINT, resolveModel } from "@siglip-edge/export";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";

const APP_DIR = resolve(import.meta.dirname, "..");
const DEFAULT_MODEL = "google/siglip2-base-patch16-224";
const BUCKET = "siglip-edge-models";

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(2);
}

async function pull(id: string, dtype: string): Promise<void> {
  process.stderr.write(`npm start: ${id} is not in the cache; pulling it from the Hugging Face hub (needs internet once)\n`);
  const r = spawnSync(process.execPath, [join(APP_DIR, "..", "cli", "bin", "siglip.js"), "pull", id, "--dtype", dtype], { stdio: "inherit" });
  if (r.status !== 0) {
    fail(
      `no bundle for ${id}: it is not in the cache (${cacheRoot()}) and pulling it failed.\n` +
        `  With internet once:  npx siglip pull ${id}\n` +
        `  Offline:             npm start -- --model tiny   (${OFFLINE_HINT})`,
    );
  }
}

async function ensureTokenizer(dir: string, manifest: { text: { tokenizer: string | null } }): Promise<void> {
  const sgtk = join(dir, "tokenizer.sgtk");
  if (existsSync(sgtk)) return;
  const source = manifest.text.tokenizer !== null ? join(dir, manifest.text.tokenizer) : devTokenizerJsonPath();
  writeFileSync(sgtk, (await loadTokenizer(source)).toBinary());
}

function upload(dir: string, prefix: string, files: string[]): void {
  const marker = join(APP_DIR, ".wrangler", "uploaded", `${prefix.replaceAll("/", "_")}.json`);
  const stamp = readFileSync(join(dir, "manifest.json"), "utf8");
  if (existsSync(marker) && readFileSync(marker, "utf8") === stamp) return;
  for (const f of files) {
    process.stderr.write(`npm start: local R2 <- ${prefix}${f}\n`);
    const r = spawnSync(process.execPath, [wranglerBin(), "r2", "object", "put", `${BUCKET}/${prefix}${f}`, "--local", "--file", join(dir, f)], {
      cwd: APP_DIR,
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (r.status !== 0) fail(`could not copy ${f} into local R2`);
  }
  mkdirSync(join(APP_DIR, ".wrangler", "uploaded"), { recursive: true });
  writeFileSync(marker, stamp);
}

/** wrangler's JS entry (run with this Node, which is 22 under npm scripts). */
function wranglerBin(): string {
  for (const p of [join(APP_DIR, "node_modules", "wrangler", "bin", "wrangler.js"), join(APP_DIR, "..", "..", "node_modules", "wrangler", "bin", "wrangler.js")]) if (existsSync(p)) return p;
  return fail("wrangler is not installed: run npm ci");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: "string" }, port: { type: "string", default: "8787" }, dtype: { type: "string", default: "fp32" } } });
  const spec = values.model ?? process.env["SIGLIP_MODEL"] ?? DEFAULT_MODEL;
  let dir: string;
  try {
    dir = await resolveModel(spec, { dtype: values.dtype, log: (line) => process.stderr.write(`npm start: ${line}\n`) });
  } catch (err) {
    if (!isSiglipError(err) || !/^[^/]+\/[^/]+$/.test(spec) || existsSync(spec)) fail(isSiglipError(err) ? err.message : String(err));
    await pull(spec, values.dtype);
    dir = bundleCacheDir(spec, "main", values.dtype);
  }
  // Served under the name given (hub id, tiny), or a directory's checkpoint id.
  const id = existsSync(join(spec, "manifest.json")) ? (JSON.parse(readFileSync(join(spec, "manifest.json"), "utf8")) as { checkpoint: { id: string } }).checkpoint.id : spec;
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { text: { tokenizer: string | null }; tokenTable: { rows: number }; files: { path: string }[] };
  await ensureTokenizer(dir, manifest);
  const prefix = `${id.replaceAll("/", "--")}/`;
  // The edge path never loads text.onnx (token table inside); skip it.
  const files = ["manifest.json", "tokenizer.sgtk", ...manifest.files.map((f) => f.path).filter((p) => p !== "text.onnx" && p !== "text.onnx.data")];
  upload(dir, prefix, files);
  const bundles = JSON.stringify([{ id, prefix, ...(manifest.tokenTable.rows < 256000 ? { foldTokenIds: true } : {}) }]);
  process.stderr.write(`npm start: serving ${id} from ${dir}\n  try: curl -s localhost:${values.port}/v1/models\n`);
  const child = spawn(process.execPath, [wranglerBin(), "dev", "--port", values.port, "--var", `MODEL_BUNDLES:${bundles}`], { cwd: APP_DIR, stdio: "inherit" });
  const stop = () => child.kill("SIGINT");
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  child.on("exit", (code) => process.exit(code ?? 0));
}

await main();
