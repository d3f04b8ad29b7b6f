/**
 * The bundle contract: `manifest.json` of a bundle directory (format `siglip-edge-bundle` v1), declared once here.
 * packages/export writes it (convert.ts) and verifies bundles on disk (bundle.ts); packages/runtime reads it from R2,
 * HTTP or the filesystem and checks each file before loading it. Every file is listed with its byte size and sha256;
 * `checkFileSize` / `checkFileSha256` are the one place a mismatch becomes `INTEGRITY_MISMATCH`. The format is
 * documented in packages/export/README.md ("Bundle format").
 * @module
 */
import { SiglipError } from "./errors.ts";
import type { Family } from "./registry.ts";

export const BUNDLE_FORMAT = "siglip-edge-bundle";
export const BUNDLE_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";

/** Weight formats of a bundle's graphs. */
export const WEIGHT_DTYPES = ["fp32", "fp16", "int8", "q4"] as const;
export type WeightDType = (typeof WEIGHT_DTYPES)[number];

export interface TowerConfig {
  hiddenSize: number; // D
  intermediateSize: number; // M
  numLayers: number; // L
  numHeads: number; // H
  layerNormEps: number;
}

export interface TextConfig extends TowerConfig {
  vocabSize: number;
  maxPositions: number;
  /** Width of the text head (`projection_size`); g-opt: 1152 -> 1536. */
  projectionSize: number;
}

export interface VisionConfig extends TowerConfig {
  numChannels: number;
  patchSize: number;
  /** FixRes square side; NaFlex: `null`. */
  imageSize: number | null;
  /** Position table rows: (imageSize / patch)^2 (floor) for FixRes, `num_patches` (a G x G grid) for NaFlex. */
  numPositions: number;
}

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
  family: Family;
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
  /**
   * int8 bundles: the towers packed for the WebAssembly kernels (@siglip-edge/kernels format.ts), one file per
   * tower (role "kernels"), computing the function of `graphs.vision` and `graphs.textSplit` (and their stages).
   */
  kernels?: { format: "siglip-kernels-w8a12"; version: 1; vision: string; textSplit: string };
  files: BundleFile[];
}

/**
 * Parses and checks `manifest.json` (format, version, and the sections every reader relies on).
 * @param location where the bundle is, for messages (`r2://models/tiny/`, a directory with a trailing `/`)
 * @throws `CHECKPOINT_INVALID` naming what is wrong
 */
export function parseManifest(json: Uint8Array | string, location: string): BundleManifest {
  let m: Partial<BundleManifest>;
  try {
    m = JSON.parse(typeof json === "string" ? json : new TextDecoder().decode(json)) as Partial<BundleManifest>;
  } catch (cause) {
    throw new SiglipError("CHECKPOINT_INVALID", `${location}${MANIFEST_FILE} is not JSON`, { cause });
  }
  if (typeof m !== "object" || m === null) throw new SiglipError("CHECKPOINT_INVALID", `${location}${MANIFEST_FILE} is not an object`);
  if (m.format !== BUNDLE_FORMAT || m.version !== BUNDLE_VERSION) {
    throw new SiglipError("CHECKPOINT_INVALID", `${location}${MANIFEST_FILE}: format ${String(m.format)} v${String(m.version)} is not ${BUNDLE_FORMAT} v${BUNDLE_VERSION}`);
  }
  if (m.graphs === undefined || m.tokenTable === undefined || !Array.isArray(m.files) || m.sizes === undefined || m.preprocessing === undefined || m.text === undefined) {
    throw new SiglipError("CHECKPOINT_INVALID", `${location}${MANIFEST_FILE} lacks graphs, tokenTable, sizes, preprocessing, text or files`);
  }
  return m as BundleManifest;
}

/** What the manifest promises about one file. */
export interface FileDigest {
  size: number;
  sha256?: string;
}

/** The manifest entry for a file; a file the manifest does not list cannot be loaded. */
export function fileDigest(m: BundleManifest, path: string): FileDigest {
  const f = m.files.find((x) => x.path === path);
  if (f === undefined) throw new SiglipError("CHECKPOINT_INVALID", `${MANIFEST_FILE} does not list ${path}`);
  return { size: f.bytes, sha256: f.sha256 };
}

/** The manifest's size check: `INTEGRITY_MISMATCH` naming the file when they differ. */
export function checkFileSize(location: string, path: string, size: number, expected: FileDigest): void {
  if (size !== expected.size) {
    throw new SiglipError("INTEGRITY_MISMATCH", `bundle file ${location}${path} has ${size} bytes, manifest says ${expected.size}`, { details: { file: path } });
  }
}

/** The manifest's SHA-256 check (hex, case-insensitive). */
export function checkFileSha256(location: string, path: string, got: string, expected: string): void {
  if (got !== expected.toLowerCase()) {
    throw new SiglipError("INTEGRITY_MISMATCH", `bundle file ${location}${path} has sha256 ${got}, manifest says ${expected}`, { details: { file: path } });
  }
}

/** How a verifier measures a bundle's files (the filesystem in packages/export, a bundle source in the runtime). */
export interface FileProbe {
  /** Where the files are, prefixed to paths in messages ("" or a location ending in `/`). */
  location: string;
  /** A file's size in bytes; throws `NOT_FOUND` for a missing file. */
  size(path: string): Promise<number>;
  /** A file's sha256, lower-case hex. */
  sha256(path: string): Promise<string>;
}

/**
 * Checks every listed file's size, then (unless `hashes: false`) its sha256. Throws `INTEGRITY_MISMATCH` naming the
 * first bad file (the probe's `NOT_FOUND` for a missing one).
 */
export async function verifyManifestFiles(m: BundleManifest, probe: FileProbe, opts: { hashes?: boolean } = {}): Promise<void> {
  for (const f of m.files) checkFileSize(probe.location, f.path, await probe.size(f.path), { size: f.bytes });
  if (opts.hashes === false) return;
  for (const f of m.files) checkFileSha256(probe.location, f.path, await probe.sha256(f.path), f.sha256);
}
