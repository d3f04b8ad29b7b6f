/**
 * Shared test fixtures: goldens from tools/reference/export_goldens.py, checkpoints regenerated from the seed. The
 * parity tests that run bundles against the goldens are packages/runtime's (test/parity.test.ts and others).
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

