/**
 * The bundle manifest as packages/export writes it (`manifest.json`, format `siglip-edge-bundle` v1; see
 * packages/export/src/bundle.ts). Declared structurally here because the runtime must not depend on the Node-only
 * export package; `parseManifest` checks the fields the runtime relies on.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { BundleSource, FileDigest } from "./bundle-source.ts";

export interface ManifestFile {
  path: string;
  role: string;
  dtype?: string;
  bytes: number;
  sha256: string;
}

export interface BundleManifest {
  format: "siglip-edge-bundle";
  version: number;
  checkpoint: { id: string; revision: string | null };
  family: "fixres" | "naflex";
  modelType: "siglip" | "siglip2";
  dtype: string;
  sizes: { embedDim: number; text: { hiddenSize: number; vocabSize: number }; vision: { hiddenSize: number; imageSize?: number | null; patchSize: number } };
  preprocessing:
    | { kind: "fixres"; imageSize: number; resample: "bilinear" | "bicubic" }
    | { kind: "naflex"; patchSize: number; maxNumPatches: number; resample: "bilinear" | "bicubic" };
  text: { maxLength: number; tokenizer: string | null; padId: number; eosId: number };
  logitScale: number;
  logitBias: number;
  graphs: { vision: string; text: string; textSplit: string };
  tokenTable: { file: string; dtype: "float32" | "float16" | "int8"; rows: number; dim: number; scales: string | null };
  positionGrid: { file: string; side: number; dim: number } | null;
  /**
   * Stage graphs, in order (absent unless converted with `--stages K`, K > 1): each runs encoder layers
   * [floor(i·L/K), floor((i+1)·L/K)) and reads its weights from the tower's data file (`vision.onnx.data`,
   * `text_split.onnx.data`). Stage 0 takes the tower's inputs; later stages `hidden_states` (NaFlex: plus
   * `pixel_attention_mask`); all but the last output `hidden_states_out`, the last `pooler_output`.
   */
  stages?: { vision: string[]; textSplit: string[] };
  files: ManifestFile[];
}

export function parseManifest(bytes: Uint8Array, location: string): BundleManifest {
  let m: Partial<BundleManifest>;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes)) as Partial<BundleManifest>;
  } catch (cause) {
    throw new SiglipError("CHECKPOINT_INVALID", `${location}manifest.json is not JSON`, { cause });
  }
  if (m.format !== "siglip-edge-bundle" || m.version !== 1) {
    throw new SiglipError("CHECKPOINT_INVALID", `${location}manifest.json: format ${String(m.format)} v${String(m.version)} is not siglip-edge-bundle v1`);
  }
  if (m.graphs === undefined || m.tokenTable === undefined || !Array.isArray(m.files) || m.sizes === undefined) {
    throw new SiglipError("CHECKPOINT_INVALID", `${location}manifest.json lacks graphs, tokenTable, sizes or files`);
  }
  return m as BundleManifest;
}

export async function readManifest(source: BundleSource): Promise<BundleManifest> {
  return parseManifest(await source.read("manifest.json"), source.location);
}

/** The manifest entry for a file; a file the manifest does not list cannot be loaded. */
export function fileDigest(m: BundleManifest, path: string): FileDigest {
  const f = m.files.find((x) => x.path === path);
  if (f === undefined) throw new SiglipError("CHECKPOINT_INVALID", `manifest.json does not list ${path}`);
  return { size: f.bytes, sha256: f.sha256 };
}
