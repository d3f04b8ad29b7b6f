/**
 * The onnxruntime-web 1.30 peers of the kernels benches (packages/kernels/bench gemm.ts and layer.ts), on the same
 * graphs (tools/reference/kernels_graphs.py) and inputs, through the runtime's web engine (1 thread, optimisation
 * "all", prepacking on, as onnxruntime-web's defaults): the GEMM shapes as fp32 MatMul, the transformers.js q8 graph
 * (DynamicQuantizeLinear + MatMulInteger) and DynamicQuantizeLinear + MatMulIntegerToFloat; the B/16 layer in fp32
 * and the q8 recipe, ordinary and with planted outliers. Here because onnxruntime is reached through the runtime's
 * engine modules only.
 * Usage: node packages/runtime/bench/kernels-peers.ts   (env SIGLIP_PYTHON for the graph script, KERNELS_BENCH_DIR, REPS)
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 as rng, tensor } from "@siglip-edge/core";
import { cosine, DIR, ensureGraphs, GEMM_SHAPES, GEMM_TOKENS, gemmInput, layerFigures, layerMacs, npy, time, uptime, type Timing } from "@siglip-edge/kernels/bench";
import type { EngineSession } from "../src/index.ts";
import { createWebEngineForNode } from "../src/node/index.ts";

const REPS = Number(process.env["REPS"] ?? 15);
const engine = await createWebEngineForNode();

async function session(path: string): Promise<EngineSession> {
  return engine.createSession({ kind: "bytes", graph: new Uint8Array(readFileSync(path)) }, { threads: 1, disablePrepacking: false, optimization: "all" });
}

async function run(s: EngineSession, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const out = await s.run({ [s.inputNames[0] as string]: tensor("float32", dims, x) });
  return out[s.outputNames[0] as string]?.data as Float32Array;
}

const gmac = (m: number, k: number, n: number, ms: number): number => (m * k * n) / ms / 1e6;
const fmt = (t: Timing, m: number, k: number, n: number): string => `${t.median.toFixed(2)} ms ${gmac(m, k, n, t.median).toFixed(1)} (best ${gmac(m, k, n, t.best).toFixed(1)})`;

ensureGraphs("gemm", "gemm/fc2_mmitf.onnx");
ensureGraphs("layer", "layer/outlier/meta.json");
console.log(`# kernels peers bench (${new Date().toISOString()}), node ${process.version}, onnxruntime-web 1 thread, median of ${REPS}`);
console.log(`# uptime: ${uptime()}`);
console.log("| M | linear | K x N | ort fp32 MatMul | ort q8 (DQL+MatMulInteger) | ort DQL+MatMulIntegerToFloat | cosine of ort q8 to ort fp32 |");
console.log("|---|---|---|---:|---:|---:|---|");
const sums: Record<number, { median: number[]; best: number[] }> = {};
for (const m of GEMM_TOKENS) {
  const S = (sums[m] = { median: [0, 0, 0], best: [0, 0, 0] });
  for (const [name, [k, n]] of Object.entries(GEMM_SHAPES)) {
    const x = gemmInput(rng(k * 7 + n + m), m, k); // the x of gemm.ts for this shape
    const cells: string[] = [];
    let ref32: Float32Array | undefined;
    let cq8 = NaN;
    for (const [i, kind] of ["fp32", "q8", "mmitf"].entries()) {
      const s = await session(join(DIR, "gemm", `${name}_${kind}.onnx`));
      const y = await run(s, x, [m, k]);
      if (kind === "fp32") ref32 = y.slice();
      if (kind === "q8" && ref32 !== undefined) cq8 = cosine(y, ref32);
      const t = await time(() => run(s, x, [m, k]), Math.max(5, Math.floor(REPS / 2)));
      S.median[i] = (S.median[i] as number) + t.median;
      S.best[i] = (S.best[i] as number) + t.best;
      cells.push(fmt(t, m, k, n));
      await s.release();
    }
    console.log(`| ${m} | ${name} | ${k} x ${n} | ${cells.join(" | ")} | ${cq8.toFixed(6)} |`);
  }
}
console.log("\nwhole layer (the four linears; GMAC/s effective over their sum):");
for (const m of GEMM_TOKENS) {
  for (const [what, L] of [["sum of medians", sums[m]?.median ?? []], ["sum of bests", sums[m]?.best ?? []]] as const) {
    const eff = (ms: number): string => `${ms.toFixed(2)} ms = ${(layerMacs(m) / ms / 1e6).toFixed(1)} GMAC/s`;
    console.log(`  M=${m} ${what}: ort fp32 ${eff(L[0] as number)}; ort q8 ${eff(L[1] as number)}; ort MatMulIntegerToFloat ${eff(L[2] as number)}`);
  }
}

console.log("\nB/16 layer against torch fp32:");
for (const kase of ["ordinary", "outlier"]) {
  const dir = join(DIR, "layer", kase);
  for (const [name, file] of [["ort fp32", "layer_fp32.onnx"], ["ort q8 (transformers.js recipe)", "layer_q8.onnx"]] as const) {
    const s = await session(join(dir, file));
    for (const m of [196, 64]) {
      const x = npy(join(dir, `x_${m}.npy`));
      const ref = npy(join(dir, `y_${m}.npy`));
      const y = await run(s, x, [1, m, 768]);
      const t = await time(() => run(s, x, [1, m, 768]), Math.max(5, Math.ceil(REPS / 2)));
      console.log(`${kase.padEnd(8)} M=${String(m).padEnd(3)} ${name}: ${t.median.toFixed(1)} ms (best ${t.best.toFixed(1)}); ${layerFigures(y, ref, x)}`);
    }
    await s.release();
  }
}
console.log(`# uptime: ${uptime()}`);
