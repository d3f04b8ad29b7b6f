/**
 * One B/16-shaped SigLIP 2 encoder layer (768 wide, 12 heads, MLP 3072) on the kernels, against the same layer in
 * torch fp32 (the onnxruntime-web peers on the exported layer, fp32 and the transformers.js q8 recipe, run in
 * packages/runtime/bench/kernels-peers.ts). Random weights, and the same weights with planted activation-outlier
 * channels (6 LayerNorm channels x30, matching linear inputs / 30). Accuracy against torch fp32: cosine and max abs
 * error of the layer output, and cosine of the layer's contribution (y - x), which the residual would otherwise hide.
 * Usage: node bench/layer.ts   (after npm run build; env SIGLIP_PYTHON, KERNELS_BENCH_DIR, REPS)
 */
import { join } from "node:path";
import { loadKernels, readEncoderLayerNpy } from "../src/node.ts";
import { EncoderLayer, LAYER_STAGES, type LayerTimings } from "../src/layer.ts";
import { DIR, ensureGraphs, layerFigures, npy, time, uptime } from "./common.ts";

const REPS = Number(process.env["REPS"] ?? 11);
const SHAPE = { hidden: 768, heads: 12, intermediate: 3072, eps: 1e-6 };
const TOKENS = [196, 64];

const fig = layerFigures;

ensureGraphs("layer", "layer/outlier/meta.json");
console.log(`# layer bench (${new Date().toISOString()}), node ${process.version}, 1 thread, median of ${REPS}`);
console.log(`# uptime: ${uptime()}`);
const K = await loadKernels({ initialMiB: 64 });

for (const kase of ["ordinary", "outlier"]) {
  const dir = join(DIR, "layer", kase);
  const w = await readEncoderLayerNpy(dir, SHAPE);
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
}
console.log(`# uptime: ${uptime()}`);
