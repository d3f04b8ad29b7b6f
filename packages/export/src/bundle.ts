/**
 * The bundle format: a directory with `manifest.json`, ONNX graphs with external data, the split token table, the
 * NaFlex position grid and the tokenizer. Every file is listed with its byte size and sha256; loading verifies both.
 * The format is documented in README.md ("Bundle format").
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import type { ModelFamily, TextConfig, VisionConfig } from "./config.ts";
import type { WeightDType } from "./graphs/layers.ts";

export const BUNDLE_FORMAT = "siglip-edge-bundle";
export const BUNDLE_VERSION = 1;

export interface BundleFile {
  path: string;
  /** What the file holds: "onnx", "onnx-stage", "onnx-data", "token-table", "token-table-scales", "position-grid", "tokenizer". */
  role: string;
  /** Element dtype for raw arrays ("float32", "float16", "int8"); "mixed" for ONNX data; omitted for JSON. */
  dtype?: string;
  bytes: number;
  sha256: string;
}

export interface FixResPreprocessing {
  kind: "fixres";
  imageSize: number;
  resample: "bilinear" | "bicubic";
  rescaleFactor: number;
  imageMean: number[];
  imageStd: number[];
}

export interface NaFlexPreprocessing {
  kind: "naflex";
  patchSize: number;
  maxNumPatches: number;
  resample: "bilinear" | "bicubic";
  rescaleFactor: number;
  imageMean: number[];
  imageStd: number[];
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  checkpoint: { id: string; revision: string | null };
  family: ModelFamily;
  modelType: "siglip" | "siglip2";
  dtype: WeightDType;
  sizes: { embedDim: number; text: TextConfig; vision: VisionConfig };
  preprocessing: FixResPreprocessing | NaFlexPreprocessing;
  text: { maxLength: number; tokenizer: string | null; padId: number; eosId: number };
  /** Learned log-temperature `t` and bias `b`: logits = cos · exp(t) + b. */
  logitScale: number;
  logitBias: number;
  graphs: { vision: string; text: string; textSplit: string };
  /** Row-addressable token table for `textSplit`: row r at byte r · dim · bytes(dtype). int8 rows have per-row scales. */
  tokenTable: { file: string; dtype: "float32" | "float16" | "int8"; rows: number; dim: number; scales: string | null };
  /** NaFlex only: the learned G x G x D position grid (float32, (y, x, d) order), resized per image at run time. */
  positionGrid: { file: string; side: number; dim: number } | null;
  /**
   * Stage graphs (only when converted with `stages` > 1): file names in order, stage i covering encoder layers
   * [floor(i·L/K), floor((i+1)·L/K)). Each shares its tower's data file (`vision.onnx.data`, `text_split.onnx.data`).
   * Stage 0 takes the tower's inputs; later ones `hidden_states` (+ `pixel_attention_mask` for NaFlex); all but the
   * last output `hidden_states_out`; the last outputs `pooler_output`.
   */
  stages?: { vision: string[]; textSplit: string[] };
  files: BundleFile[];
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function describeFile(dir: string, path: string, role: string, dtype?: string): Promise<BundleFile> {
  const full = join(dir, path);
  const f: BundleFile = { path, role, bytes: (await stat(full)).size, sha256: await sha256File(full) };
  if (dtype !== undefined) f.dtype = dtype;
  return f;
}

/** Reads `manifest.json`. Throws `NOT_FOUND` / `CHECKPOINT_INVALID`. */
export async function readManifest(dir: string): Promise<BundleManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8");
  } catch (e) {
    throw new SiglipError("NOT_FOUND", `${dir}: no manifest.json (not a bundle)`, { cause: e });
  }
  const m = JSON.parse(text) as BundleManifest;
  if (m.format !== BUNDLE_FORMAT || m.version !== BUNDLE_VERSION) {
    throw new SiglipError("CHECKPOINT_INVALID", `${dir}: manifest format ${String(m.format)} v${String(m.version)} is not ${BUNDLE_FORMAT} v${BUNDLE_VERSION}`);
  }
  return m;
}

/**
 * Checks every listed file's size, then (unless `hashes: false`) its sha256. Throws `INTEGRITY_MISMATCH` naming the
 * first bad file, `NOT_FOUND` for a missing one.
 */
export async function verifyBundle(dir: string, m: BundleManifest, opts: { hashes?: boolean } = {}): Promise<void> {
  for (const f of m.files) {
    const full = join(dir, f.path);
    const st = await stat(full).catch((e: unknown) => {
      throw new SiglipError("NOT_FOUND", `bundle file ${f.path} is missing`, { cause: e, details: { file: f.path } });
    });
    if (st.size !== f.bytes) {
      throw new SiglipError("INTEGRITY_MISMATCH", `bundle file ${f.path} has ${st.size} bytes, manifest says ${f.bytes}`, { details: { file: f.path } });
    }
  }
  if (opts.hashes === false) return;
  for (const f of m.files) {
    const got = await sha256File(join(dir, f.path));
    if (got !== f.sha256) {
      throw new SiglipError("INTEGRITY_MISMATCH", `bundle file ${f.path} has sha256 ${got}, manifest says ${f.sha256}`, { details: { file: f.path } });
    }
  }
}

/** Loads and verifies a bundle's manifest. */
export async function loadManifest(dir: string, opts: { hashes?: boolean } = {}): Promise<BundleManifest> {
  const m = await readManifest(dir);
  await verifyBundle(dir, m, opts);
  return m;
}
