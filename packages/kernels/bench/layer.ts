/**
 * One B/16-shaped SigLIP 2 encoder layer (768 wide, 12 heads, MLP 3072) on the kernels next to onnxruntime-web 1.30
 * (1 thread) running the same layer exported from transformers: fp32, and the transformers.js q8 recipe
 * (quantize_dynamic, per-channel QInt8). Random weights, and the same weights with planted activation-outlier
 * channels (6 LayerNorm channels x30, matching linear inputs / 30). Accuracy against torch fp32: cosine and max abs
 * error of the layer output, and cosine of the layer's contribution (y - x), which the residual would otherwise hide.
 * Usage: node bench/layer.ts   (after npm run build; env SIGLIP_PYTHON, KERNELS_BENCH_DIR, REPS)
 */
import { join } from "node:path";
import { loadKernels, readEncoderLayerNpy } from "../src/node.ts";
import { EncoderLayer, LAYER_STAGES, type LayerTimings } from "../src/layer.ts";
import { DIR, cosine, ensureGraphs, maxAbs, npy, runOrt, session, time, uptime } from "./common.ts";

const REPS = Number(process.env["REPS"] ?? 11);
const SHAPE = { hidden: 768, heads: 12, intermediate: 3072, eps: 1e-6 };
const TOKENS = [196, 64];

function fig(y: Float32Array, ref: Float32Array, x: Float32Array): string {
  const d = y.map((v, i) => v - (x[i] as number));
  const dr = ref.map((v, i) => v - (x[i] as number));
  return `cos ${cosine(y, ref).toFixed(6)}, cos(y-x) ${cosine(d, dr).toFixed(6)}, max abs ${maxAbs(y, ref).toExponential(2)}`;
}

ensureGraphs("layer", "layer/outlier/meta.json");
console.log(`# layer bench (${new Date().toISOString()}), node ${process.version}, 1 thread, median of ${REPS}`);
console.log(`# uptime: ${uptime()}`);
const K = await loadKernels({ initialMiB: 64 });

for (const kase of ["ordinary", "outlier"]) {
  const dir = join(DIR, "layer", kase);
  const w = await readEncoderLayerNpy(dir, SHAPE);
  const ortFp32 = await session(join(dir, "layer_fp32.onnx"));
  const ortQ8 = await session(join(dir, "layer_q8.onnx"));
  for (const fold of [true, false]) {
    const base = K.arena.mark();
    const layer = new EncoderLayer(K, w, { foldLayerNorm: fold });
    for (const m of TOKENS) {
      const x = npy(join(dir, `x_${m}.npy`));
      const ref = npy(join(dir, `y_${m}.npy`));
      const mark = K.arena.mark();
      const xp = K.arena.alloc(x.byteLength);
      const run = (): void => {
        K.f32(xp, x.length).set(x);
        layer.forward(xp, m);
      };
      run();
      const y = K.f32(xp, x.length).slice();
      const t = await time(run, REPS);
      const stages: LayerTimings = {};
      for (let i = 0; i < 5; i++) {
        K.f32(xp, x.length).set(x);
        layer.forward(xp, m, stages);
      }
      const parts = LAYER_STAGES.map((s) => `${s} ${((stages[s] ?? 0) / 5).toFixed(2)}`).join(", ");
      console.log(`${kase.padEnd(8)} M=${String(m).padEnd(3)} ours W8A12 ${fold ? "LN folded  " : "LN unfolded"}: ${t.median.toFixed(1)} ms (best ${t.best.toFixed(1)}); ${fig(y, ref, x)}`);
      console.log(`    stages ms: ${parts}`);
      K.arena.release(mark);
    }
    K.arena.release(base);
  }
  for (const m of TOKENS) {
    const x = npy(join(dir, `x_${m}.npy`));
    const ref = npy(join(dir, `y_${m}.npy`));
    for (const [name, s] of [["ort fp32", ortFp32], ["ort q8 (transformers.js recipe)", ortQ8]] as const) {
      const y = await runOrt(s, x, [1, m, 768]);
      const t = await time(() => runOrt(s, x, [1, m, 768]), Math.max(5, Math.ceil(REPS / 2)));
      console.log(`${kase.padEnd(8)} M=${String(m).padEnd(3)} ${name}: ${t.median.toFixed(1)} ms (best ${t.best.toFixed(1)}); ${fig(y, ref, x)}`);
    }
  }
  await ortFp32.release();
  await ortQ8.release();
}
console.log(`# uptime: ${uptime()}`);
