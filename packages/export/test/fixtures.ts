/**
 * Shared test fixtures: goldens from tools/reference/export_goldens.py, checkpoints regenerated from the seed, and
 * the bundles converted from them, once per test file. The parity tests that run bundles against the goldens are
 * packages/runtime's (test/parity.test.ts and others), through `@siglip-edge/export/testing`.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeNpy, type Tensor } from "@siglip-edge/core";
import { generateCheckpoint, PRESETS } from "../src/generate.ts";
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

/** The golden tensor `name` (`pixel_values`, `image_embeds`, ...) of a preset. */
export function golden(preset: string, name: string): Tensor {
  return decodeNpy(new Uint8Array(readFileSync(join(GOLDENS, preset, `${name}.npy`))));
}

export function goldenMeta(preset: string): GoldenMeta {
  return JSON.parse(readFileSync(join(GOLDENS, preset, "meta.json"), "utf8")) as GoldenMeta;
}

let root: Promise<string> | null = null;
/** This test file's temporary folder (removed by `removeTmp`). */
export function tmpRoot(): Promise<string> {
  root ??= mkdtemp(join(tmpdir(), "siglip-export-test-"));
  return root;
}

/** Removes this test file's temporary checkpoints and bundles (call from `afterAll`). */
export async function removeTmp(): Promise<void> {
  if (root !== null) await rm(await root, { recursive: true, force: true });
  root = null;
  checkpoints.clear();
  bundles.clear();
  staged.clear();
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

/**
 * Encoder layers per tower of the staged checkpoints: the tiny presets have 2, too few to tell stages apart; with 3,
 * stages 2 are layers [0,1) [1,3) and stages 3 one each.
 */
export const STAGED_LAYERS = 3;

const staged = new Map<string, Promise<string>>();
/** The tiny preset with `STAGED_LAYERS` encoder layers in both towers (seed 7), once per test file. */
export function stagedCheckpoint(preset: string): Promise<string> {
  return once(staged, `ck-${preset}`, async (dir) => {
    const base = PRESETS[preset] as { model_type: string; text_config: object; vision_config: object };
    const layers = { num_hidden_layers: STAGED_LAYERS };
    await generateCheckpoint(dir, { ...base, text_config: { ...base.text_config, ...layers }, vision_config: { ...base.vision_config, ...layers } }, { seed: 7 });
  });
}

/** `stagedCheckpoint(preset)` converted with `stages` stage graphs per tower, once per test file. */
export function stagedBundle(preset: string, dtype: WeightDType, stages: number): Promise<string> {
  return once(staged, `bundle-${preset}-${dtype}-${stages}`, async (out) => {
    await convertCheckpoint(await stagedCheckpoint(preset), out, { dtype, stages });
  });
}

/** Makes `tmpRoot()/name` with `make` the first time `name` is asked for; its directory. */
function once(cache: Map<string, Promise<string>>, name: string, make: (dir: string) => Promise<void>): Promise<string> {
  let p = cache.get(name);
  if (p === undefined) {
    p = (async () => {
      const dir = join(await tmpRoot(), name);
      await make(dir);
      return dir;
    })();
    cache.set(name, p);
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

