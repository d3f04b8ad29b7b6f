/**
 * Issue 15's measurement ground truth: the peer's own q8 models (transformers.js recipe: torch.onnx.export of each
 * tower, then onnxruntime's dynamic quantiser, tools/reference/peer_q8_models.py) against our bundles, on B/16 FixRes
 * 224 random weights, ordinary and with planted activation outliers, two seeds each; same onnxruntime-web 1.30 build
 * (WASM, 1 thread, in Node), same inputs (one 64-token text from our tokenizer, one 224 px image from our preprocess
 * of fixtures/photos/skimage/chelsea.png), batch 1. Per tower: cold (session creation from bytes in memory + first
 * run, in a fresh process) and the median of RUNS warm tower calls (the `session.run` alone; for our text tower the
 * 64 token rows are read from the split table before the clock), plus cosine of pooler_output to torch fp32
 * (transformers SiglipModel, eager, written by the Python script).
 *
 * Command (one run, everything cached under $SIGLIP_CACHE/peer-q8: checkpoints, peer models, our bundles):
 *   SIGLIP_PYTHON=/work/pyenv/bin/python node packages/runtime/bench/peer-q8.ts
 * Env: SEEDS (default 0,1), OUTLIERS (CHANNELS:GAIN, default 3:30), RUNS (warm runs, default 5, at least 5), OURS
 * (our bundle dtypes, default int8,fp32), FP32 (checkpoints that get the fp32 bundle: first | all, default first),
 * PEER_ARGS (extra arguments for peer_q8_models.py, e.g. "--weight-type qint8 --reduce-range off"; their models go
 * to a folder of their own). Python: tools/reference/.venv/bin/python, else $SIGLIP_PYTHON; without one that imports
 * torch, transformers, onnx and onnxruntime the peer rows and every cosine are skipped, with a message. KERNELS=0
 * leaves out the "ours, kernels engine" rows (`kernelsRows`: the int8 bundle's kernels files on the kernels engine).
 * Other commands: `node packages/runtime/bench/peer-q8.ts inputs DIR` writes input_ids.npy and pixel_values.npy.
 *
 * Other benches add rows (the fast engine, later) through `runPeerQ8Bench({ extraRows })`: each producer gets the
 * checkpoint, the inputs and the torch reference, and may time graphs with `timeTowerInChild`.
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cosine, decodeNpy, encodeNpy, tensor } from "@siglip-edge/core";
import { cacheRoot, convertCheckpoint, generateCheckpoint, type OutlierOptions, type WeightDType } from "@siglip-edge/export";
import { preprocessFixRes } from "@siglip-edge/preprocess";
import { initNodeDecoders } from "@siglip-edge/preprocess/node";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { TokenRowReader, readManifest } from "../src/index.ts";
import { fsBundleSource } from "../src/node/index.ts";
import type { TowerSpec, TowerTiming } from "./peer-q8-tower.ts";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const NODE = process.execPath;
const TOWER_SCRIPT = join(import.meta.dirname, "peer-q8-tower.ts");
export const PRESET = "b16-fixres";
export const SENTENCE = "a photo of two cats sleeping on a red sofa";
export const PHOTO = join(ROOT, "fixtures", "photos", "skimage", "chelsea.png");
export const IMAGE_SIZE = 224;

/** One checkpoint of the run. */
export interface CheckpointCase {
  /** e.g. `seed 0`, `seed 0 + outliers 3:30`. */
  label: string;
  seed: number;
  outliers: OutlierOptions | null;
  /** Cache folder of this case (checkpoint/, peer/, bundle-int8/, ...). */
  dir: string;
  checkpoint: string;
}

export interface BenchInputs {
  /** int64 [1, 64] */
  idsFile: string;
  /** float32 [1, 3, 224, 224] */
  pixelsFile: string;
  ids: Int32Array;
}

/** What a row producer gets for one checkpoint. */
export interface BenchContext {
  case: CheckpointCase;
  inputs: BenchInputs;
  /** torch fp32 pooler_output per tower, null when no Python was found. */
  reference: { vision: Float32Array; text: Float32Array } | null;
  runs: number;
}

export interface TowerResult extends TowerTiming {
  /** Cosine of pooler_output to torch fp32 (null without a reference). */
  cosine: number | null;
}

export interface Row {
  graphs: string;
  checkpoint: CheckpointCase;
  vision: TowerResult | null;
  text: TowerResult | null;
}

export type RowProducer = (ctx: BenchContext) => Promise<Row[]>;

export interface PeerQ8Options {
  seeds?: number[];
  outliers?: OutlierOptions;
  runs?: number;
  ours?: WeightDType[];
  fp32On?: "first" | "all";
  peerArgs?: string[];
  /** Rows added after ours, per checkpoint. */
  extraRows?: RowProducer[];
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs, Python, the peer's models

/** Writes the fixed inputs: our tokenizer on SENTENCE, our FixRes preprocess of PHOTO at 224 px. */
export async function writeInputs(dir: string): Promise<BenchInputs> {
  mkdirSync(dir, { recursive: true });
  const tok = await loadTokenizer(devTokenizerJsonPath());
  const ids = tok.encode(SENTENCE);
  await initNodeDecoders();
  const px = await preprocessFixRes(new Uint8Array(readFileSync(PHOTO)), { size: IMAGE_SIZE });
  const idsFile = join(dir, "input_ids.npy");
  const pixelsFile = join(dir, "pixel_values.npy");
  writeFileSync(idsFile, encodeNpy(tensor("int64", [1, ids.length], BigInt64Array.from(ids, (x) => BigInt(x)))));
  writeFileSync(pixelsFile, encodeNpy(tensor("float32", [1, 3, IMAGE_SIZE, IMAGE_SIZE], px.data)));
  return { idsFile, pixelsFile, ids };
}

/** tools/reference/.venv, then $SIGLIP_PYTHON: the first that imports what peer_q8_models.py needs. */
export function findPython(): { python: string | null; tried: string[] } {
  const tried = [join(ROOT, "tools", "reference", ".venv", "bin", "python"), process.env["SIGLIP_PYTHON"]].filter((p): p is string => p !== undefined && p !== "");
  for (const p of tried) {
    if (!existsSync(p)) continue;
    const r = spawnSync(p, ["-c", "import torch, transformers, onnx, onnxruntime"], { stdio: "ignore" });
    if (r.status === 0) return { python: p, tried };
  }
  return { python: null, tried };
}

function sameBytes(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));
}

/** Runs peer_q8_models.py unless its output for these inputs and arguments is cached. */
function peerModels(python: string, c: CheckpointCase, inputsDir: string, peerArgs: string[], log: (l: string) => void): string {
  const out = join(c.dir, peerArgs.length === 0 ? "peer" : `peer-${peerArgs.join("_").replace(/[^A-Za-z0-9_.-]/g, "")}`);
  const recipe = join(out, "recipe.json");
  const fresh = existsSync(recipe) && sameBytes(join(out, "reference", "input_ids.npy"), join(inputsDir, "input_ids.npy")) && sameBytes(join(out, "reference", "pixel_values.npy"), join(inputsDir, "pixel_values.npy"));
  if (!fresh) {
    log(`${c.label}: peer q8 models (tools/reference/peer_q8_models.py ${peerArgs.join(" ")})`);
    execFileSync(python, [join(ROOT, "tools", "reference", "peer_q8_models.py"), c.checkpoint, out, "--inputs", inputsDir, ...peerArgs], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Timing

/** Times one graph in a fresh process (peer-q8-tower.ts); returns its timing and the output it produced. */
export function timeTowerInChild(spec: Omit<TowerSpec, "outputFile">, outputFile: string): { timing: TowerTiming; output: Float32Array } {
  const full: TowerSpec = { ...spec, outputFile };
  const stdout = execFileSync(NODE, [TOWER_SCRIPT, JSON.stringify(full)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
  const timing = JSON.parse(stdout.trim().split("\n").at(-1) as string) as TowerTiming;
  return { timing, output: decodeNpy(new Uint8Array(readFileSync(outputFile))).data as Float32Array };
}

/** Times a graph and compares its output to the reference; a graph that fails to load or run gives null (logged). */
function tower(spec: Omit<TowerSpec, "outputFile">, outputFile: string, ref: Float32Array | undefined, log: (l: string) => void): TowerResult | null {
  let r: { timing: TowerTiming; output: Float32Array };
  try {
    r = timeTowerInChild(spec, outputFile);
  } catch (err) {
    log(`  ${spec.graph}: failed (${String(err).split("\n")[0]})`);
    return null;
  }
  return { ...r.timing, cosine: ref === undefined ? null : cosine(r.output, ref) };
}

function peerRow(ctx: BenchContext, peerDir: string, label: string, log: (l: string) => void): Row {
  const onnx = (n: string) => join(peerDir, "onnx", `${n}_quantized.onnx`);
  const spec = (graph: string, input: string, file: string): Omit<TowerSpec, "outputFile"> => ({ engine: "ort-web", graph, feeds: { [input]: file }, output: "pooler_output", runs: ctx.runs });
  const vision = tower(spec(onnx("vision_model"), "pixel_values", ctx.inputs.pixelsFile), join(peerDir, "out-vision.npy"), ctx.reference?.vision, log);
  const text = tower(spec(onnx("text_model"), "input_ids", ctx.inputs.idsFile), join(peerDir, "out-text.npy"), ctx.reference?.text, log);
  return { graphs: label, checkpoint: ctx.case, vision, text };
}

/** Our bundle of a dtype (`siglip convert --dtype D`, i.e. convertCheckpoint), timed through the runtime's engine. */
async function oursRow(ctx: BenchContext, dtype: WeightDType, log: (l: string) => void, engine: "runtime" | "kernels" = "runtime"): Promise<Row> {
  const dir = join(ctx.case.dir, `bundle-${dtype}`);
  const stale = dtype === "int8" && existsSync(join(dir, "manifest.json")) && (JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { kernels?: unknown }).kernels === undefined;
  if (!existsSync(join(dir, "manifest.json")) || stale) {
    log(`${ctx.case.label}: convertCheckpoint --dtype ${dtype}`);
    await convertCheckpoint(ctx.case.checkpoint, dir, { dtype, checkpointId: `bench/${PRESET}-seed${ctx.case.seed}` });
  }
  const source = fsBundleSource(dir);
  const m = await readManifest(source);
  // The text tower as the edge runs it: the split graph, token rows read from the split table first (not timed).
  const t = m.tokenTable;
  const rows = new TokenRowReader(source, { path: t.file, rows: t.rows, dim: t.dim, dtype: t.dtype, scales: t.scales });
  const T = ctx.inputs.ids.length;
  const embedsFile = join(dir, "bench-inputs_embeds.npy");
  writeFileSync(embedsFile, encodeNpy(tensor("float32", [1, T, t.dim], await rows.embed(ctx.inputs.ids, 1, T))));
  const spec = (graph: string, input: string, file: string): Omit<TowerSpec, "outputFile"> => ({
    engine,
    graph: join(dir, graph),
    externalData: existsSync(join(dir, `${graph}.data`)) ? [{ path: `${graph}.data`, file: join(dir, `${graph}.data`) }] : [],
    feeds: { [input]: file },
    output: "pooler_output",
    runs: ctx.runs,
  });
  const vision = tower(spec(m.graphs.vision, "pixel_values", ctx.inputs.pixelsFile), join(dir, `bench-out-vision-${engine}.npy`), ctx.reference?.vision, log);
  const text = tower(spec(m.graphs.textSplit, "inputs_embeds", embedsFile), join(dir, `bench-out-text-${engine}.npy`), ctx.reference?.text, log);
  if (engine === "kernels") return { graphs: "ours, kernels engine (W8A12 WebAssembly kernels, int8 bundle's kernels files)", checkpoint: ctx.case, vision, text };
  const what = dtype === "int8" ? "weight-only int8, DequantizeLinear + MatMul" : dtype === "q4" ? "MatMulNBits" : dtype;
  return { graphs: `ours, siglip convert --dtype ${dtype} (${what})`, checkpoint: ctx.case, vision, text };
}

/** "ours, kernels engine" rows: the int8 bundle's kernels files on the runtime's kernels engine (a RowProducer). */
export const kernelsRows: RowProducer = async (ctx) => [await oursRow(ctx, "int8", (l) => console.error(l), "kernels")];

// ---------------------------------------------------------------------------------------------------------------
// The run

function caseOf(root: string, seed: number, outliers: OutlierOptions | null): CheckpointCase {
  const tag = outliers === null ? "" : `-outliers${outliers.channels}x${outliers.gain}`;
  const dir = join(root, `${PRESET}-seed${seed}${tag}`);
  return { label: `seed ${seed}${outliers === null ? "" : ` + outliers ${outliers.channels}:${outliers.gain}`}`, seed, outliers, dir, checkpoint: join(dir, "checkpoint") };
}

async function ensureCheckpoint(c: CheckpointCase, log: (l: string) => void): Promise<void> {
  const marker = join(c.checkpoint, "outliers.json");
  const ok = existsSync(join(c.checkpoint, "config.json")) && existsSync(join(c.checkpoint, "model.safetensors")) && existsSync(marker) === (c.outliers !== null);
  if (ok) return;
  log(`${c.label}: generateCheckpoint ${PRESET}`);
  await generateCheckpoint(c.checkpoint, PRESET, { seed: c.seed, ...(c.outliers === null ? {} : { outliers: c.outliers }) });
}

export function uptime(): string {
  try {
    return execFileSync("uptime", { encoding: "utf8" }).trim();
  } catch {
    return "(uptime unavailable)";
  }
}

/** The whole comparison; returns every row (peer, ours, extra) for every checkpoint. */
export async function runPeerQ8Bench(opts: PeerQ8Options = {}): Promise<Row[]> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const runs = Math.max(5, opts.runs ?? 5);
  const outliers = opts.outliers ?? { channels: 3, gain: 30 };
  const root = join(cacheRoot(), "peer-q8");
  const inputsDir = join(root, "inputs");
  const inputs = await writeInputs(inputsDir);
  const { python, tried } = findPython();
  if (python === null) {
    log(`peer q8 rows and cosines skipped: no Python with torch, transformers, onnx and onnxruntime (tried: ${tried.join(", ") || "none"}; set SIGLIP_PYTHON)`);
  }
  const cases = (opts.seeds ?? [0, 1]).flatMap((s) => [caseOf(root, s, null), caseOf(root, s, outliers)]);
  const rows: Row[] = [];
  for (const [i, c] of cases.entries()) {
    await ensureCheckpoint(c, log);
    let reference: BenchContext["reference"] = null;
    let peerDir: string | null = null;
    if (python !== null) {
      peerDir = peerModels(python, c, inputsDir, opts.peerArgs ?? [], log);
      const ref = (n: string) => decodeNpy(new Uint8Array(readFileSync(join(peerDir as string, "reference", `${n}_pooler_output.npy`)))).data as Float32Array;
      reference = { vision: ref("vision"), text: ref("text") };
    }
    const ctx: BenchContext = { case: c, inputs, reference, runs };
    log(`${c.label}: timing (${uptime()})`);
    const add = (r: Row): void => {
      rows.push(r);
      log(`  ${r.graphs}: image ${ms(r.vision?.coldMs)} / ${ms(r.vision?.medianMs)} ms, text ${ms(r.text?.coldMs)} / ${ms(r.text?.medianMs)} ms (cold / median), cosine ${cos(r.vision?.cosine)} / ${cos(r.text?.cosine)}`);
    };
    const peerLabel = `transformers.js q8 recipe (peer's own graphs${(opts.peerArgs ?? []).length > 0 ? `, ${(opts.peerArgs ?? []).join(" ")}` : ""})`;
    if (peerDir !== null) add(peerRow(ctx, peerDir, peerLabel, log));
    for (const dtype of opts.ours ?? ["int8", "fp32"]) {
      if (dtype === "fp32" && (opts.fp32On ?? "first") === "first" && i > 0) continue;
      add(await oursRow(ctx, dtype, log));
    }
    for (const extra of opts.extraRows ?? []) for (const r of await extra(ctx)) add(r);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// Tables

const ms = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(0));
const cos = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : x.toFixed(5));

/** One line per row and checkpoint. */
export function detailTable(rows: readonly Row[]): string {
  const out = ["| checkpoint | graphs | image cold / median ms | text cold / median ms | cosine to torch fp32, image / text | peak RSS image / text MiB |", "|---|---|---:|---:|---|---:|"];
  for (const r of rows) {
    out.push(
      `| ${r.checkpoint.label} | ${r.graphs} | ${ms(r.vision?.coldMs)} / ${ms(r.vision?.medianMs)} | ${ms(r.text?.coldMs)} / ${ms(r.text?.medianMs)} | ` +
        `${cos(r.vision?.cosine)} / ${cos(r.text?.cosine)} | ${ms(r.vision?.peakRssMiB)} / ${ms(r.text?.peakRssMiB)} |`,
    );
  }
  return out.join("\n");
}

const med = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Issue 15's table: per graphs, median over checkpoints of the warm medians, speed against the peer, cosines per seed. */
export function summaryTable(rows: readonly Row[]): string {
  const graphs = [...new Set(rows.map((r) => r.graphs))];
  const peer = rows.filter((r) => r.graphs.startsWith("transformers.js"));
  const peerImg = med(peer.flatMap((r) => (r.vision ? [r.vision.medianMs] : [])));
  const peerTxt = med(peer.flatMap((r) => (r.text ? [r.text.medianMs] : [])));
  const cosList = (rs: Row[]): string => (rs.length === 0 ? "-" : `${rs.map((r) => cos(r.vision?.cosine)).join(", ")} / ${rs.map((r) => cos(r.text?.cosine)).join(", ")}`);
  const out = [
    "| graphs | image ms | text ms | image / text vs peer (x faster) | cosine image / text, ordinary (per seed) | cosine image / text, outliers (per seed) |",
    "|---|---:|---:|---|---|---|",
  ];
  for (const g of graphs) {
    const rs = rows.filter((r) => r.graphs === g);
    const img = med(rs.flatMap((r) => (r.vision ? [r.vision.medianMs] : [])));
    const txt = med(rs.flatMap((r) => (r.text ? [r.text.medianMs] : [])));
    const vs = peerImg === undefined || img === undefined || peerTxt === undefined || txt === undefined ? "-" : `${(peerImg / img).toFixed(2)} / ${(peerTxt / txt).toFixed(2)}`;
    out.push(`| ${g} | ${ms(img)} | ${ms(txt)} | ${vs} | ${cosList(rs.filter((r) => r.checkpoint.outliers === null))} | ${cosList(rs.filter((r) => r.checkpoint.outliers !== null))} |`);
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------

const isMain = process.argv[1] !== undefined && import.meta.filename === process.argv[1];
const [command, arg] = process.argv.slice(2);
if (isMain && command === "inputs") {
  if (arg === undefined) throw new Error("usage: peer-q8.ts inputs DIR");
  await writeInputs(arg);
} else if (isMain && command !== undefined) {
  throw new Error(`peer-q8.ts: unknown command ${command} (run it without arguments, or: inputs DIR)`);
} else if (isMain) {
  const env = process.env;
  const [c, g] = (env["OUTLIERS"] ?? "3:30").split(":").map(Number);
  const before = uptime();
  const t0 = Date.now();
  const rows = await runPeerQ8Bench({
    seeds: (env["SEEDS"] ?? "0,1").split(",").map(Number),
    outliers: { channels: c ?? 3, gain: g ?? 30 },
    runs: Number(env["RUNS"] ?? 5),
    ours: (env["OURS"] ?? "int8,fp32").split(",").filter((d) => d !== "") as WeightDType[],
    fp32On: env["FP32"] === "all" ? "all" : "first",
    peerArgs: (env["PEER_ARGS"] ?? "").split(" ").filter((a) => a !== ""),
    extraRows: env["KERNELS"] === "0" ? [] : [kernelsRows],
  });
  console.log(`\nB/16 FixRes 224 random weights, batch 1, onnxruntime-web 1.30 WASM, 1 thread, in Node; RUNS=${Math.max(5, Number(env["RUNS"] ?? 5))} warm runs per tower after the cold one.`);
  console.log(`uptime before: ${before}\nuptime after:  ${uptime()}\nwall: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  console.log(summaryTable(rows) + "\n");
  console.log(detailTable(rows));
}
