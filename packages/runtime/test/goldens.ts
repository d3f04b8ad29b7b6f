/**
 * The exporter's reference goldens (fixtures/goldens/export, from tools/reference/export_goldens.py) and the bundles
 * they describe: checkpoints regenerated from the goldens' seeds by packages/export and converted, once per test file.
 * Images go in as the reference's own model inputs (FixRes pixel values, NaFlex patches), through the towers.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeNpy, type Tensor, type WeightDType } from "@siglip-edge/core";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import type { EngineTowers, ModelPipeline } from "../src/index.ts";

export const GOLDENS = join(import.meta.dirname, "..", "..", "..", "fixtures", "goldens", "export");

export interface GoldenMeta {
  preset: string;
  seed: number;
  weights_sha256: string;
  logit_scale: number;
  logit_bias: number;
  naflex_grids: [number, number][] | null;
}

export function golden(preset: string, name: string): Tensor {
  return decodeNpy(new Uint8Array(readFileSync(join(GOLDENS, preset, `${name}.npy`))));
}

export function goldenMeta(preset: string): GoldenMeta {
  return JSON.parse(readFileSync(join(GOLDENS, preset, "meta.json"), "utf8")) as GoldenMeta;
}

let root: Promise<string> | null = null;
function tmpRoot(): Promise<string> {
  root ??= mkdtemp(join(tmpdir(), "siglip-runtime-parity-"));
  return root;
}

const checkpoints = new Map<string, Promise<string>>();
const bundles = new Map<string, Promise<string>>();

/** Removes this test file's temporary checkpoints and bundles (call from `afterAll`). */
export async function removeTmp(): Promise<void> {
  if (root !== null) await rm(await root, { recursive: true, force: true });
  root = null;
  checkpoints.clear();
  bundles.clear();
}

/** The preset's checkpoint, regenerated from the golden's seed (once per test file). */
export function checkpoint(preset: string): Promise<string> {
  let p = checkpoints.get(preset);
  if (p === undefined) {
    p = (async () => {
      const dir = join(await tmpRoot(), preset);
      if (!existsSync(join(dir, "config.json"))) await generateCheckpoint(dir, preset, { seed: goldenMeta(preset).seed });
      return dir;
    })();
    checkpoints.set(preset, p);
  }
  return p;
}

export function bundle(preset: string, dtype: WeightDType = "fp32"): Promise<string> {
  const key = `${preset}-${dtype}`;
  let p = bundles.get(key);
  if (p === undefined) {
    p = (async () => {
      const out = join(await tmpRoot(), `bundle-${key}`);
      await convertCheckpoint(await checkpoint(preset), out, { dtype, checkpointId: `test/${preset}` });
      return out;
    })();
    bundles.set(key, p);
  }
  return p;
}

/** Rows of an int64 [B, T] golden as int32 token id rows. */
export function idRows(t: Tensor): Int32Array[] {
  const [B, T] = t.dims as [number, number];
  const d = t.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Int32Array.from(d.subarray(b * T, (b + 1) * T), Number));
}

/** Runs the golden image inputs (FixRes pixel values or NaFlex patches) through a model's towers: pooler_output [I, D]. */
export async function embedGoldenImages(m: ModelPipeline<EngineTowers>, preset: string): Promise<Tensor<"float32">> {
  const pv = golden(preset, "pixel_values") as Tensor<"float32">;
  if (m.manifest.family === "fixres") return m.towers.pixelValues(pv);
  return m.towers.naflexBatch({
    pixelValues: pv,
    pixelAttentionMask: golden(preset, "pixel_attention_mask") as Tensor<"int32">,
    spatialShapes: golden(preset, "spatial_shapes") as Tensor<"int64">,
  });
}
