/** Shared test fixtures: goldens from tools/reference/export_goldens.py, checkpoints regenerated from the seed. */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeNpy, tensor, type Tensor } from "@siglip-edge/core";
import type { BundleModel } from "../src/model.ts";
import { generateCheckpoint } from "../src/generate.ts";
import { openCheckpoint } from "../src/checkpoint.ts";
import { convertCheckpoint } from "../src/convert.ts";
import type { WeightDType } from "../src/graphs/layers.ts";

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
  root ??= mkdtemp(join(tmpdir(), "siglip-export-test-"));
  return root;
}

/** Removes this test file's temporary checkpoints and bundles (call from `afterAll`). */
export async function removeTmp(): Promise<void> {
  if (root !== null) await rm(await root, { recursive: true, force: true });
  root = null;
  checkpoints.clear();
  bundles.clear();
}

const checkpoints = new Map<string, Promise<string>>();
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

const bundles = new Map<string, Promise<string>>();
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

/** Every tensor of a checkpoint directory, as float32. */
export async function tensorsOf(dir: string): Promise<Map<string, Float32Array>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, Float32Array>();
  for (const name of ck.tensors.keys()) out.set(name, await ck.read(name));
  return out;
}

/** Rows of an int64 [B, T] golden as number arrays. */
export function idRows(t: Tensor): number[][] {
  const [B, T] = t.dims as [number, number];
  const d = t.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * T, (b + 1) * T), Number));
}

/** Runs the golden image inputs (FixRes pixels or NaFlex patches) through a bundle: pooler_output [I, D]. */
export async function embedGoldenImages(m: BundleModel, preset: string): Promise<Tensor<"float32">> {
  const pv = golden(preset, "pixel_values");
  if (m.manifest.family === "fixres") {
    const out = await m.embedPixels(pv.data as Float32Array, pv.dims[0] as number);
    return tensor("float32", out.dims, out.data);
  }
  const shapes = golden(preset, "spatial_shapes");
  const sd = shapes.data as BigInt64Array;
  const spatialShapes = Array.from({ length: shapes.dims[0] as number }, (_, b) => [Number(sd[2 * b]), Number(sd[2 * b + 1])] as const);
  const mask = golden(preset, "pixel_attention_mask");
  const out = await m.embedPatches({
    pixelValues: pv.data as Float32Array,
    pixelAttentionMask: mask.data as Int32Array,
    spatialShapes,
    numPatches: pv.dims[1] as number,
  });
  return tensor("float32", out.dims, out.data);
}

