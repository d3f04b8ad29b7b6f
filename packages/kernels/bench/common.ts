/**
 * Shared bench plumbing: the reference graphs (tools/reference/kernels_graphs.py, run once into a temp dir), .npy
 * reading and timing. The onnxruntime-web peers on the same graphs run in packages/runtime/bench/kernels-peers.ts
 * (onnxruntime is reached through the runtime's engine modules only).
 * @module
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

/** The x of the GEMM bench for a shape: one stream per (M, K, N), x drawn first (kernels-peers.ts draws the same). */
export function gemmInput(rnd: () => number, m: number, k: number): Float32Array {
  return Float32Array.from({ length: m * k }, () => (rnd() - 0.5) * 4);
}

export const GEMM_SHAPES = { qkv: [768, 2304], out: [768, 768], fc1: [768, 3072], fc2: [3072, 768] } as const;
export const GEMM_TOKENS = [196, 64];
/** MACs of one layer's four linears at M tokens. */
export const layerMacs = (m: number): number => m * 768 * (2304 + 768 + 3072) + m * 3072 * 768;

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

/** Accuracy of a layer output y against the torch reference, for input x: cosine, cosine of y - x, max abs. */
export function layerFigures(y: Float32Array, ref: Float32Array, x: Float32Array): string {
  const d = y.map((v, i) => v - (x[i] as number));
  const dr = ref.map((v, i) => v - (x[i] as number));
  return `cos ${cosine(y, ref).toFixed(6)}, cos(y-x) ${cosine(d, dr).toFixed(6)}, max abs ${maxAbs(y, ref).toExponential(2)}`;
}
