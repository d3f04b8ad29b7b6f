/**
 * `siglip audit <run|bias|retrieval|report|compare>`: fairness and multilingual retrieval audits (apps/audit).
 * bias / retrieval take embeddings from any encoder as .npy and print JSON; report / compare write a dashboard.
 */
import { decodeNpy, SiglipError, toFloat32, type Tensor } from "@siglip-edge/core";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import type { EmbeddingProvider, ImageInput } from "@siglip-edge/audit/node";
import type { ImageOptions, ModelPipeline, SiglipPipeline } from "@siglip-edge/runtime";
import { intFlag, parseArgs, stringFlag, stringFlags, UsageError, type FlagSpecs, type Parsed } from "../args.ts";
import { write, type Command, type CommandIO } from "../io.ts";

const USAGE = `siglip audit <subcommand> [options]
  run        --out DIR [--model BUNDLE|MODEL_ID|tiny | --kserve URL --model BUNDLE [--kserve-name NAME] | --api URL [--api-model ID]
                        | --provider stand-in | --provider precomputed --embeddings DIR] [--dataset default|xm3600:DIR|folder:DIR]
             [--prompts gender,age,occupation|FILE.json,...] [--languages en,de,...] [--caption-policy all|first]
             [--seed N] [--resamples N] [--batch N] [--concurrency N] [--fairface DIR|LABELS.csv] [--max-num-patches N]
             [--thumbnails PX]
             (--model tiny: the offline random-weight model, generated on first use; numbers describe no real model.
             --max-num-patches: NaFlex models' image patch budget, part of the cache revision.
             --kserve: towers on a KServe v2 backend as <NAME>-text/-vision, NAME defaulting to the bundle folder's name;
             the bundle gives manifest and tokenizer. --api: a siglip-edge API, bearer token from SIGLIP_API_KEY.)
             Embeds (with a resumable SQLite cache in DIR/embeddings.sqlite), writes DIR/report.json and DIR/index.html
             with the dashboard's thumbnails in DIR/thumbs (longer side PX, default 96; 0: none).
  bias       --images IMG.npy --groups name=A.npy,name=B.npy [--seed N] [--resamples N]
             Representation bias of image embeddings [N, D] between groups of text embeddings [P, D]; prints JSON.
  retrieval  --images IMG.npy --texts TXT.npy --pairs PAIRS.json [--caption-policy all|first] [--ties optimistic|pessimistic]
             [--seed N] [--resamples N]   PAIRS.json: image index per text, {"owner": [...]}, or [[text, image], ...].
             Streams similarity tiles (onnxruntime-node MatMul), never the full matrix; prints JSON.
  report     REPORT.json --out DIR          dashboard (DIR/index.html, thumbnails copied to DIR/thumbs) from a report
  compare    A.json B.json --out DIR        two reports on the same dataset: DIR/comparison.json + DIR/index.html`;

async function readNpy(io: CommandIO, path: string, name: string): Promise<Tensor<"float32">> {
  let bytes: Uint8Array;
  try {
    // a plain Uint8Array copy: core decodeNpy calls .slice(), which on a Node Buffer is a view of a shared pool
    bytes = new Uint8Array(await readFile(resolve(io.cwd, path)));
  } catch (err) {
    throw new SiglipError("NOT_FOUND", `cannot read ${name} ${path}`, { cause: err });
  }
  const t = toFloat32(decodeNpy(bytes));
  if (t.dims.length !== 2) throw new SiglipError("SHAPE_MISMATCH", `${name} ${path} must be 2-D [N, D], got [${t.dims.join(", ")}]`);
  return t;
}

async function readJson(io: CommandIO, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, path), "utf8");
  } catch (err) {
    throw new SiglipError("NOT_FOUND", `cannot read ${path}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SiglipError("INVALID_ARGUMENT", `${path} is not JSON`, { cause: err });
  }
}

function need(p: Parsed, name: string): string {
  const v = stringFlag(p, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

const printJson = (io: CommandIO, value: unknown) => write(io.stdout, JSON.stringify(value, null, 2) + "\n");

async function readReport(io: CommandIO, path: string) {
  const { parseReport } = await import("@siglip-edge/audit");
  return parseReport(await readJson(io, path), path);
}

/** The retrieval ranking and bootstrap flags of `audit retrieval` and `audit run`. */
const RETRIEVAL_FLAGS: FlagSpecs = {
  "caption-policy": { type: "string", choices: ["all", "first"] },
  ties: { type: "string", choices: ["optimistic", "pessimistic"] },
  ...stringFlags("seed", "resamples"),
};

const SUBCOMMANDS: Record<string, (argv: string[], io: CommandIO) => Promise<number>> = {
  async bias(argv, io) {
    const p = parseArgs(argv, { images: { type: "string" }, groups: { type: "string" }, seed: { type: "string" }, resamples: { type: "string" } });
    const images = await readNpy(io, need(p, "images"), "--images");
    const specs = need(p, "groups").split(",").filter((s) => s !== "");
    const groups = [];
    for (const spec of specs) {
      const eq = spec.indexOf("=");
      if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--groups entries look like name=FILE.npy, got "${spec}"`);
      groups.push({ name: spec.slice(0, eq), embeddings: await readNpy(io, spec.slice(eq + 1), `group ${spec.slice(0, eq)}`) });
    }
    const { biasFromEmbeddings } = await import("@siglip-edge/audit");
    await printJson(io, biasFromEmbeddings(images, groups, { seed: intOrZero(p, "seed"), resamples: intFlag(p, "resamples", 1000, 100_000) }));
    return 0;
  },
  async retrieval(argv, io) {
    const p = parseArgs(argv, { ...stringFlags("images", "texts", "pairs"), ...RETRIEVAL_FLAGS });
    const images = await readNpy(io, need(p, "images"), "--images");
    const texts = await readNpy(io, need(p, "texts"), "--texts");
    const { parsePairs, retrievalFromEmbeddings } = await import("@siglip-edge/audit");
    const owner = parsePairs(await readJson(io, need(p, "pairs")), texts.dims[0] as number, images.dims[0] as number);
    // Similarity tiles from onnxruntime-node's MatMul (MLAS, every core): XM3600 size in seconds.
    const { createMatmulKernel } = await import("@siglip-edge/runtime/node");
    const kernel = await createMatmulKernel();
    try {
      const out = await retrievalFromEmbeddings(images, texts, owner, {
        captionPolicy: (stringFlag(p, "caption-policy") ?? "all") as "all" | "first",
        ties: (stringFlag(p, "ties") ?? "optimistic") as "optimistic" | "pessimistic",
        seed: intOrZero(p, "seed"),
        resamples: intFlag(p, "resamples", 1000, 100_000),
        kernel,
      });
      await printJson(io, out);
    } finally {
      await kernel.close();
    }
    return 0;
  },
  async report(argv, io) {
    const p = parseArgs(argv, { out: { type: "string" } });
    if (p.positionals.length !== 1) throw new UsageError("give one REPORT.json");
    const report = await readReport(io, p.positionals[0] as string);
    const { renderDashboard } = await import("@siglip-edge/audit");
    const { copyThumbnails } = await import("@siglip-edge/audit/node");
    const out = resolve(io.cwd, need(p, "out"));
    await mkdir(out, { recursive: true });
    copyThumbnails(report, dirname(resolve(io.cwd, p.positionals[0] as string)), out);
    await writeFile(join(out, "index.html"), renderDashboard(report));
    await write(io.stderr, `wrote ${join(out, "index.html")}\n`);
    return 0;
  },
  async compare(argv, io) {
    const p = parseArgs(argv, { out: { type: "string" } });
    if (p.positionals.length !== 2) throw new UsageError("give two reports: A.json B.json");
    const a = await readReport(io, p.positionals[0] as string);
    const b = await readReport(io, p.positionals[1] as string);
    const { compareReports, renderDashboard } = await import("@siglip-edge/audit");
    const comparison = compareReports(a, b);
    const out = resolve(io.cwd, need(p, "out"));
    await mkdir(out, { recursive: true });
    const { copyThumbnails } = await import("@siglip-edge/audit/node");
    copyThumbnails(a, dirname(resolve(io.cwd, p.positionals[0] as string)), out);
    copyThumbnails(b, dirname(resolve(io.cwd, p.positionals[1] as string)), out);
    await writeFile(join(out, "comparison.json"), JSON.stringify(comparison, null, 1) + "\n");
    await writeFile(join(out, "index.html"), renderDashboard(a, { other: b, comparison }));
    await write(io.stderr, `wrote ${join(out, "comparison.json")} and ${join(out, "index.html")}\n`);
    return 0;
  },
  async run(argv, io) {
    const p = parseArgs(argv, {
      provider: { type: "string", choices: ["bundle", "edge-api", "kserve", "stand-in", "precomputed"] },
      ...stringFlags("out", "kserve", "kserve-name", "api", "api-model", "embeddings", "model", "dataset", "prompts", "languages"),
      ...RETRIEVAL_FLAGS,
      ...stringFlags("batch", "concurrency", "fairface", "max-num-patches", "thumbnails"),
    });
    quietSqliteWarning();
    const { imageOptionsFlag } = await import("./embed-common.ts");
    const imageOptions = imageOptionsFlag(p);
    const audit = await import("@siglip-edge/audit");
    const node = await import("@siglip-edge/audit/node");
    const out = resolve(io.cwd, need(p, "out"));
    const modelFlag = stringFlag(p, "model");
    const apiFlag = stringFlag(p, "api");
    const kserveFlag = stringFlag(p, "kserve");
    const kind = stringFlag(p, "provider") ?? (kserveFlag !== undefined ? "kserve" : modelFlag !== undefined ? "bundle" : apiFlag !== undefined ? "edge-api" : undefined);
    // No silent default: stand-in numbers describe no model, so they must be asked for by name.
    if (kind === undefined) throw new UsageError("choose the embeddings: --model BUNDLE, --kserve URL --model BUNDLE, --api URL, --provider precomputed --embeddings DIR, or --provider stand-in (pipeline test, no model)");
    if (modelFlag !== undefined && kind !== "bundle" && kind !== "kserve") throw new UsageError(`--model selects the bundle provider; drop --provider ${kind}`);
    const provider: EmbeddingProvider =
      kind === "bundle"
        ? await BundleProvider.open(modelFlag ?? need(p, "model"), io, imageOptions)
        : kind === "kserve"
          ? await openKServeProvider(kserveFlag ?? need(p, "kserve"), need(p, "model"), stringFlag(p, "kserve-name"), io, imageOptions)
        : kind === "edge-api"
          ? await node.EdgeApiProvider.connect(apiFlag ?? need(p, "api"), {
              ...(stringFlag(p, "api-model") ? { model: stringFlag(p, "api-model") } : {}),
              ...(io.env["SIGLIP_API_KEY"] ? { apiKey: io.env["SIGLIP_API_KEY"] } : {}),
              ...imageOptions,
            })
          : kind === "precomputed"
          ? new node.PrecomputedProvider(resolve(io.cwd, need(p, "embeddings")))
          : new node.StandInProvider({ log: io.env["SIGLIP_AUDIT_STANDIN_LOG"], delayMs: Number(io.env["SIGLIP_AUDIT_STANDIN_DELAY_MS"] ?? 0) || 0 });
    if (provider.standIn) await write(io.stderr, `siglip audit run: ${provider.note ?? "stand-in embeddings"}\n`);
    const ds = stringFlag(p, "dataset") ?? "default";
    const dataset = ds === "default"
      ? audit.loadDefaultDataset()
      : ds.startsWith("xm3600:")
        ? audit.loadXm3600(resolve(io.cwd, ds.slice(7)))
        : ds.startsWith("folder:")
          ? audit.loadFolderDataset(resolve(io.cwd, ds.slice(7)))
          : (() => { throw new UsageError(`--dataset must be default, xm3600:DIR or folder:DIR, got "${ds}"`); })();
    const promptSets = [];
    for (const name of (stringFlag(p, "prompts") ?? audit.BUILTIN_PROMPT_SETS.join(",")).split(",").filter((s) => s !== "")) {
      const path = (audit.BUILTIN_PROMPT_SETS as readonly string[]).includes(name) ? join(audit.REPO_ROOT, "fixtures/prompts", `${name}.json`) : resolve(io.cwd, name);
      promptSets.push(audit.parsePromptSet(await readJson(io, path), path));
    }
    const languages = stringFlag(p, "languages")?.split(",").filter((s) => s !== "");
    const stderr = io.stderr as { isTTY?: boolean };
    const report = await node.runAudit(provider, dataset, promptSets, {
      out,
      ...(languages ? { languages } : {}),
      captionPolicy: (stringFlag(p, "caption-policy") ?? "all") as "all" | "first",
      ties: (stringFlag(p, "ties") ?? "optimistic") as "optimistic" | "pessimistic",
      seed: intOrZero(p, "seed"),
      resamples: intFlag(p, "resamples", 1000, 100_000),
      batch: intFlag(p, "batch", 32, 4096),
      concurrency: intFlag(p, "concurrency", 2, 64),
      thumbnails: stringFlag(p, "thumbnails") === "0" ? 0 : intFlag(p, "thumbnails", 96, 512),
      ...(stringFlag(p, "fairface") ? { fairface: audit.loadFairFaceFolder(resolve(io.cwd, stringFlag(p, "fairface") ?? "")) } : {}),
      onProgress: node.progressPrinter((s) => void io.stderr.write(s), stderr.isTTY === true),
    });
    const m = report.retrieval.mean;
    await write(io.stderr, `wrote ${join(out, "report.json")} and ${join(out, "index.html")}: ${report.dataset.languages.length} languages, mean R@1 T→I ${(100 * (m.textToImage.recall["1"] ?? 0)).toFixed(1)}%, I→T ${(100 * (m.imageToText.recall["1"] ?? 0)).toFixed(1)}%\n`);
    return 0;
  },
};

/** A NaFlex budget in the cache revision: other budgets give other image vectors. */
const patchesSuffix = (o: ImageOptions): string => (o.maxNumPatches === undefined ? "" : `+patches-${o.maxNumPatches}`);

/**
 * The local-bundle provider: a converted bundle (directory or cached hub id) opened as `siglip embed` opens it
 * (onnxruntime-node, the bundle's tokenizer). Its cache revision is the checkpoint revision plus a hash of the
 * bundle's file hashes, so a re-export with other weights or dtype never reuses old vectors.
 */
export class BundleProvider implements EmbeddingProvider {
  readonly kind = "bundle";
  readonly standIn = false;
  readonly model: string;
  readonly revision: string;
  readonly dim: number;
  readonly #m: ModelPipeline;
  readonly #images: ImageOptions;

  private constructor(m: ModelPipeline, images: ImageOptions) {
    this.#m = m;
    this.#images = images;
    const files = createHash("sha256").update(JSON.stringify(m.manifest.files.map((f) => [f.path, f.sha256]))).digest("hex").slice(0, 16);
    this.model = m.manifest.checkpoint.id;
    this.revision = `${m.manifest.checkpoint.revision ?? "local"}+bundle-${files}${patchesSuffix(images)}`;
    this.dim = m.manifest.sizes.embedDim;
  }

  static async open(model: string, io: CommandIO, images: ImageOptions = {}): Promise<BundleProvider> {
    const { openModel } = await import("./embed-common.ts");
    const m = await openModel(model, io);
    m.patchBudget(images); // a budget the model does not take fails here, not at the first image batch
    return new BundleProvider(m, images);
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array> {
    return (await this.#m.runTokenIds(await this.#m.tokenIds(texts, undefined))).embeddings.data;
  }

  async embedImages(images: readonly ImageInput[]): Promise<Float32Array> {
    return (await this.#m.runImages(images.map((im) => im.bytes), this.#images)).data;
  }
}

/** Any runtime pipeline (here the KServe v2 remote one) as an audit provider; revision = the model card's. */
export class PipelineProvider implements EmbeddingProvider {
  readonly standIn = false;
  readonly kind: string;
  readonly model: string;
  readonly revision: string;
  readonly dim: number;
  readonly #p: SiglipPipeline;
  readonly #images: ImageOptions;

  constructor(kind: string, p: SiglipPipeline, images: ImageOptions = {}) {
    this.kind = kind;
    this.#p = p;
    this.#images = images;
    this.model = p.card.id;
    this.revision = `${p.card.revision}${patchesSuffix(images)}`;
    this.dim = p.card.embedDim;
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array> {
    const rows = (await this.#p.embedTexts(texts)).embeddings;
    const out = new Float32Array(texts.length * this.dim);
    rows.forEach((r, i) => out.set(r, i * this.dim));
    return out;
  }

  async embedImages(images: readonly ImageInput[]): Promise<Float32Array> {
    const rows = await this.#p.embedImages(images.map((im) => im.bytes), this.#images);
    const out = new Float32Array(images.length * this.dim);
    rows.forEach((r, i) => out.set(r, i * this.dim));
    return out;
  }
}

/** Towers on a KServe v2 backend; manifest, tokenizer and preprocessing from the local bundle (as the edge does). */
export async function openKServeProvider(url: string, bundle: string, name: string | undefined, io: CommandIO, images: ImageOptions = {}): Promise<PipelineProvider> {
  const { KServeClient, kserveTowers, openModel, readManifest, SGTK_FILE } = await import("@siglip-edge/runtime");
  const { fsBundleSource, initNodeDecoders } = await import("@siglip-edge/runtime/node");
  const { resolveBundle } = await import("../model.ts");
  const dir = await resolveBundle(bundle, io);
  const source = fsBundleSource(dir);
  const manifest = await readManifest(source);
  let tokenizer;
  if (manifest.text.tokenizer === null && !existsSync(join(dir, SGTK_FILE))) {
    const { devTokenizerJsonPath, loadTokenizer } = await import("@siglip-edge/tokenizer/node");
    tokenizer = await loadTokenizer(devTokenizerJsonPath(), { cacheDir: io.env["SIGLIP_NO_CACHE"] ? null : undefined });
  }
  const remote = await openModel({
    source,
    manifest,
    towers: kserveTowers({ client: new KServeClient({ url }), remoteName: name ?? basename(dir) }),
    initDecoders: initNodeDecoders,
    ...(tokenizer ? { tokenizer } : {}),
  });
  remote.patchBudget(images);
  return new PipelineProvider("kserve", remote, images);
}

/** node:sqlite prints an ExperimentalWarning on first load; keep every other warning. */
function quietSqliteWarning(): void {
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (w.name === "ExperimentalWarning" && /SQLite/.test(w.message)) return;
    for (const l of previous) l(w);
  });
}

function intOrZero(p: Parsed, name: string): number {
  const raw = stringFlag(p, name);
  if (raw === undefined) return 0;
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`--${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

export const command: Command = {
  summary: "fairness and multilingual retrieval audit (run, bias, retrieval, report, compare)",
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (handler === undefined) throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand "${sub}"`);
    return handler(rest, io);
  },
};
