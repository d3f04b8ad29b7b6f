/**
 * Shared bench plumbing: the reference graphs (tools/reference/kernels_graphs.py, run once into a temp dir),
 * onnxruntime-web sessions (1 thread, as at the edge), .npy reading and timing.
 * @module
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { decodeNpy } from "@siglip-edge/core";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
/** Where the graphs go (env KERNELS_BENCH_DIR, default /tmp/siglip-kernels). */
export const DIR = process.env["KERNELS_BENCH_DIR"] ?? "/tmp/siglip-kernels";

/** Runs the Python reference script once (env SIGLIP_PYTHON, default tools/reference/.venv/bin/python). */
export function ensureGraphs(part: "gemm" | "layer", marker: string): void {
  if (existsSync(join(DIR, marker))) return;
  const py = process.env["SIGLIP_PYTHON"] ?? join(ROOT, "tools/reference/.venv/bin/python");
  console.error(`writing reference graphs into ${DIR} with ${py} (once)`);
  execFileSync(py, [join(ROOT, "tools/reference/kernels_graphs.py"), "--out", DIR, "--only", part], { stdio: ["ignore", "ignore", "inherit"] });
}

ort.env.wasm.numThreads = 1;

export async function session(path: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(new Uint8Array(readFileSync(path)), { graphOptimizationLevel: "all", executionProviders: ["wasm"] });
}

export async function runOrt(s: ort.InferenceSession, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const out = await s.run({ [s.inputNames[0] as string]: new ort.Tensor("float32", x, dims) });
  return (out[s.outputNames[0] as string] as ort.Tensor).data as Float32Array;
}

export function npy(path: string): Float32Array {
  return decodeNpy(new Uint8Array(readFileSync(path))).data as Float32Array;
}

export interface Timing {
  median: number;
  best: number;
}

/** Median and best of `reps` timed calls after `warm` untimed ones, in ms. */
export async function time(fn: () => unknown, reps: number, warm = 3): Promise<Timing> {
  for (let i = 0; i < warm; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)] as number, best: t[0] as number };
}

export function uptime(): string {
  return execSync("uptime").toString().trim();
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
