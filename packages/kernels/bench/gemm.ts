/**
 * GEMM microbenchmark at the ViT-B/16 linear shapes, one thread, in Node: the shipped W8A12 kernel (epilogue
 * included), the register-block / layout / relaxed-SIMD variants that lost (build/variants.wasm, raw int32 output,
 * each checked exact against integer sums first) and the machine's dot_i16x8 ceiling. onnxruntime-web 1.30 on the
 * same shapes and inputs (fp32 MatMul, the transformers.js q8 graph, DynamicQuantizeLinear + MatMulIntegerToFloat):
 * packages/runtime/bench/kernels-peers.ts.
 * Usage: npm run bench -w @siglip-edge/kernels   (env REPS)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 as rng } from "@siglip-edge/core";
import { loadKernels } from "../src/node.ts";
import { quantizeLinear } from "../src/weights.ts";
import { VARIANTS, stepBytes, type Variant } from "../scripts/variants.ts";
import { cosine, GEMM_SHAPES, GEMM_TOKENS, gemmInput, layerMacs, time, uptime, type Timing } from "./common.ts";

const SHAPES = GEMM_SHAPES;
const TOKENS = GEMM_TOKENS;
const REPS = Number(process.env["REPS"] ?? 15);

const gmac = (m: number, k: number, n: number, ms: number): number => (m * k * n) / ms / 1e6;
const fmt = (t: Timing, m: number, k: number, n: number): string => `${t.median.toFixed(2)} ms ${gmac(m, k, n, t.median).toFixed(1)} (best ${gmac(m, k, n, t.best).toFixed(1)})`;

// ---- variants: each layout's packer, an exactness check, then timing -------------------------------------------
interface VariantModule {
  memory: WebAssembly.Memory;
  fns: Record<string, (...args: number[]) => number>;
}

async function variantModule(): Promise<VariantModule> {
  const memory = new WebAssembly.Memory({ initial: 512 }); // 32 MiB
  const mod = await WebAssembly.compile(readFileSync(join(import.meta.dirname, "..", "build", "variants.wasm")));
  const inst = await WebAssembly.instantiate(mod, { env: { memory } });
  return { memory, fns: inst.exports as unknown as Record<string, (...args: number[]) => number> };
}

const REGION = { a: 1 << 20, b: 6 << 20, c: 18 << 20 };

/** Writes A [m, k] and B [k, n] (integers) in the variant's layout; returns the call's block counts. */
function packVariant(v: Variant, mem: ArrayBuffer, A: Int16Array, B: Int8Array, m: number, k: number, n: number): { mBlocks: number; nPanels: number; kSteps: number; ldc: number } {
  const kStep = v.layout === "pairs" ? 2 : v.layout === "kdot" ? 8 : 4;
  const kSteps = Math.ceil(k / kStep);
  const mBlocks = Math.ceil(m / v.mr);
  const nPanels = Math.ceil(n / v.nr);
  const s = stepBytes(v);
  const a8 = new Int8Array(mem, REGION.a, mBlocks * kSteps * s.a);
  const a16 = new Int16Array(mem, REGION.a, (mBlocks * kSteps * s.a) >> 1);
  const b8 = new Int8Array(mem, REGION.b, nPanels * kSteps * s.b);
  const b16 = new Int16Array(mem, REGION.b, (nPanels * kSteps * s.b) >> 1);
  a8.fill(0);
  b8.fill(0);
  const av = (r: number, c: number): number => (r < m && c < k ? (A[r * k + c] as number) : 0);
  const bv = (r: number, c: number): number => (r < k && c < n ? (B[r * n + c] as number) : 0);
  for (let blk = 0; blk < mBlocks; blk++) {
    for (let st = 0; st < kSteps; st++) {
      const base = (blk * kSteps + st) * s.a;
      for (let r = 0; r < v.mr; r++) {
        for (let t = 0; t < kStep; t++) {
          const val = av(blk * v.mr + r, st * kStep + t);
          if (v.layout === "relaxed") a8[base + r * 4 + t] = val;
          else a16[(base >> 1) + r * kStep + t] = val;
        }
      }
    }
  }
  for (let p = 0; p < nPanels; p++) {
    for (let st = 0; st < kSteps; st++) {
      const base = (p * kSteps + st) * s.b;
      for (let c = 0; c < v.nr; c++) {
        for (let t = 0; t < kStep; t++) {
          const val = bv(st * kStep + t, p * v.nr + c);
          if (v.layout === "kdot") b8[base + c * 8 + t] = val;
          else if (v.layout === "relaxed") b8[base + (c >> 2) * 16 + (c & 3) * 4 + t] = val;
          else if (v.wide === true) b16[(base >> 1) + (c >> 2) * 8 + (c & 3) * 2 + t] = val;
          else b8[base + (c >> 2) * 8 + (c & 3) * 2 + t] = val;
        }
      }
    }
  }
  return { mBlocks, nPanels, kSteps, ldc: nPanels * v.nr };
}

function checkVariant(vm: VariantModule, v: Variant): boolean {
  const [m, k, n] = [13, 72, 2 * v.nr + 3];
  const r = rng(99);
  const relaxed = v.layout === "relaxed";
  const A = Int16Array.from({ length: m * k }, () => (relaxed ? Math.floor(r() * 256) - 128 : Math.floor(r() * 4095) - 2047));
  const B = Int8Array.from({ length: k * n }, () => (relaxed ? Math.floor(r() * 128) : Math.floor(r() * 255) - 127));
  const d = packVariant(v, vm.memory.buffer, A, B, m, k, n);
  (vm.fns[v.name] as (...a: number[]) => void)(REGION.a, REGION.b, REGION.c, d.mBlocks, d.nPanels, d.kSteps, d.ldc);
  const C = new Int32Array(vm.memory.buffer, REGION.c, d.mBlocks * v.mr * d.ldc);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += (A[i * k + t] as number) * (B[t * n + j] as number);
      if (C[i * d.ldc + j] !== s) return false;
    }
  }
  return true;
}

// ---- main ---------------------------------------------------------------------------------------------------------
console.log(`# GEMM bench (${new Date().toISOString()}), node ${process.version}, 1 thread, median of ${REPS}`);
console.log(`# uptime: ${uptime()}`);

const K = await loadKernels({ initialMiB: 64 });
const vm = await variantModule();

// ceilings
{
  const it = 2e5;
  const dot = await time(() => vm.fns["peakDot"]?.(it, 3), 40);
  const dotAdd = await time(() => vm.fns["peakDotAdd"]?.(it, 3), 40);
  console.log(`\nceiling (no memory traffic, best of 40): dot_i16x8 alone ${((it * 64) / dot.best / 1e6).toFixed(1)} GMAC/s; dot_i16x8 + i32x4.add chains ${((it * 96) / dotAdd.best / 1e6).toFixed(1)} GMAC/s`);
}

console.log("\nvariants, raw int32 output, exact against integer sums first (GMAC/s median (best) at M=196, K=768, N=3072 | M=64, K=768, N=768):");
for (const v of VARIANTS) {
  const ok = checkVariant(vm, v);
  const cells: string[] = [];
  for (const [m, k, n] of [[196, 768, 3072], [64, 768, 768]] as const) {
    const r = rng(1);
    const relaxed = v.layout === "relaxed";
    const A = Int16Array.from({ length: m * k }, () => (relaxed ? Math.floor(r() * 256) - 128 : Math.floor(r() * 4095) - 2047));
    const B = Int8Array.from({ length: k * n }, () => (relaxed ? Math.floor(r() * 128) : Math.floor(r() * 255) - 127));
    const d = packVariant(v, vm.memory.buffer, A, B, m, k, n);
    const f = vm.fns[v.name] as (...a: number[]) => void;
    const t = await time(() => f(REGION.a, REGION.b, REGION.c, d.mBlocks, d.nPanels, d.kSteps, d.ldc), REPS);
    cells.push(`${gmac(m, k, n, t.median).toFixed(1)} (best ${gmac(m, k, n, t.best).toFixed(1)})`);
  }
  const note = v.layout === "relaxed" ? " (i7 operand: weights in [0, 127]; not W8A12)" : v.wide === true ? " (weights pre-widened to int16 in memory)" : "";
  console.log(`  ${v.name.padEnd(15)} exact=${ok ? "yes" : "NO"}  ${cells.join(" | ")}${note}`);
}

console.log("\nper shape: median ms, GMAC/s at the median (at the best run); ours = quantised A in, fp32 C out with bias epilogue; quantise = per-row fp32 -> int16 of A");
console.log("| M | linear | K x N | ours W8A12 | ours quantise | cosine to float64 |");
console.log("|---|---|---|---:|---:|---|");
const layer: Record<string, number[]> = {};
const best: Record<string, number[]> = {};
for (const m of TOKENS) {
  layer[m] = [0, 0];
  best[m] = [0, 0];
  for (const [name, [k, n]] of Object.entries(SHAPES)) {
    const r = rng(k * 7 + n + m);
    const x = gemmInput(r, m, k);
    // ours quantises its own random weights of the graphs' shape (speed does not depend on the values)
    const w = Float32Array.from({ length: k * n }, () => (r() - 0.5) * 0.1);
    const mark = K.arena.mark();
    const lin = K.loadLinear(quantizeLinear(w, k, n, "kn", new Float32Array(n)));
    const xp = K.putF32(x);
    const rows = K.allocRows(m, k);
    const out = K.arena.alloc(m * n * 4);
    const tq = await time(() => K.quantizeRows(xp, rows), REPS);
    K.quantizeRows(xp, rows);
    const tg = await time(() => K.gemm(rows, lin, out), REPS);
    const ours = K.f32(out, m * n).slice();
    K.arena.release(mark);
    // accuracy: ours against a float64 product of the same fp32 x and w on 3 rows; q8 against the fp32 graph
    let c = 1;
    {
      const rowsToCheck = [0, Math.floor(m / 2), m - 1];
      const ref: number[] = [];
      const got: number[] = [];
      for (const i of rowsToCheck) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += (x[i * k + t] as number) * (w[t * n + j] as number);
          ref.push(s);
          got.push(ours[i * n + j] as number);
        }
      }
      c = cosine(got, ref);
    }
    const L = layer[m] as number[];
    const B = best[m] as number[];
    L[0] = (L[0] as number) + tg.median;
    L[1] = (L[1] as number) + tq.median;
    B[0] = (B[0] as number) + tg.best;
    B[1] = (B[1] as number) + tq.best;
    console.log(`| ${m} | ${name} | ${k} x ${n} | ${fmt(tg, m, k, n)} | ${tq.median.toFixed(3)} ms | ${c.toFixed(6)} |`);
  }
}
console.log("\nwhole layer (the four linears; GMAC/s effective over their sum, the quantiser calls included):");
for (const m of TOKENS) {
  const macs = layerMacs(m);
  for (const [what, L] of [["sum of medians", layer[m] as number[]], ["sum of bests", best[m] as number[]]] as const) {
    const eff = (ms: number): string => `${ms.toFixed(2)} ms = ${(macs / ms / 1e6).toFixed(1)} GMAC/s`;
    console.log(`  M=${m} ${what}: ours ${eff((L[0] as number) + (L[1] as number))} (GEMM alone ${eff(L[0] as number)})`);
  }
}
console.log(`# uptime: ${uptime()}`);
