import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeNpy } from "@siglip-edge/core";
import { loadKernels, readEncoderLayerNpy } from "../src/node.ts";
import { EncoderLayer, type EncoderLayerWeights } from "../src/layer.ts";
import type { Kernels } from "../src/kernels.ts";
import { readFileSync } from "node:fs";

// Golden: tools/reference/kernels_graphs.py --tiny-golden (transformers Siglip2EncoderLayer, 32 wide, 2 heads, MLP 64).
const FIX = join(import.meta.dirname, "fixtures", "layer-tiny");
const SHAPE = { hidden: 32, heads: 2, intermediate: 64, eps: 1e-6 };
const npy = (name: string): Float32Array => decodeNpy(new Uint8Array(readFileSync(join(FIX, `${name}.npy`)))).data as Float32Array;

let K: Kernels;
let W: EncoderLayerWeights;
beforeAll(async () => {
  K = await loadKernels();
  W = await readEncoderLayerNpy(FIX, SHAPE);
});

/** Planted activation outliers: LayerNorm gain and bias x30 on a few channels, matching linear inputs / 30 (fp32 function unchanged). */
function plantOutliers(w: EncoderLayerWeights, channels: number[], gain = 30): EncoderLayerWeights {
  const D = w.hidden;
  const scaleNorm = (n: { weight: Float32Array; bias: Float32Array }) => {
    const weight = n.weight.slice();
    const bias = n.bias.slice();
    for (const c of channels) {
      weight[c] = (weight[c] as number) * gain;
      bias[c] = (bias[c] as number) * gain;
    }
    return { weight, bias };
  };
  const divCols = (l: { weight: Float32Array; bias: Float32Array }) => {
    const weight = l.weight.slice();
    const out = l.bias.length;
    for (let o = 0; o < out; o++) for (const c of channels) weight[o * D + c] = (weight[o * D + c] as number) / gain;
    return { weight, bias: l.bias };
  };
  return { ...w, layerNorm1: scaleNorm(w.layerNorm1), q: divCols(w.q), k: divCols(w.k), v: divCols(w.v), layerNorm2: scaleNorm(w.layerNorm2), fc1: divCols(w.fc1) };
}

function run(w: EncoderLayerWeights, fold: boolean): Float32Array {
  const x = npy("x");
  const mark = K.arena.mark();
  const layer = new EncoderLayer(K, w, { foldLayerNorm: fold });
  const xp = K.putF32(x);
  layer.forward(xp, 7);
  const y = K.f32(xp, x.length).slice();
  K.arena.release(mark);
  return y;
}

/** cosine of the outputs and of the layer's contribution (y - x), and max abs error. */
function compare(got: Float32Array): { cos: number; cosDelta: number; maxAbs: number } {
  const x = npy("x");
  const y = npy("y");
  let ab = 0, aa = 0, bb = 0, db = 0, dd = 0, de = 0, mx = 0;
  for (let i = 0; i < y.length; i++) {
    const g = got[i] as number;
    const r = y[i] as number;
    ab += g * r; aa += g * g; bb += r * r;
    const dg = g - (x[i] as number);
    const dr = r - (x[i] as number);
    db += dg * dr; dd += dg * dg; de += dr * dr;
    mx = Math.max(mx, Math.abs(g - r));
  }
  return { cos: ab / Math.sqrt(aa * bb), cosDelta: db / Math.sqrt(dd * de), maxAbs: mx };
}

describe("encoder layer against transformers (tiny golden)", () => {
  it("W8A12 with folded LayerNorms: output cosine >= 0.9999, contribution (y - x) cosine >= 0.9995", () => {
    const c = compare(run(W, true));
    expect(c.cos).toBeGreaterThanOrEqual(0.9999);
    expect(c.cosDelta).toBeGreaterThanOrEqual(0.9995);
  });

  it("LayerNorm gains applied in fp32 (not folded) stay as close", () => {
    const c = compare(run(W, false));
    expect(c.cosDelta).toBeGreaterThanOrEqual(0.9995);
  });

  // Unfolded, the /30 weight columns share their output channel's int8 scale and lose ~5 bits, which the x30
  // activations then multiply back: the loss is in the weights, not in the 12-bit activations (3 of 32 channels here).
  it("planted outlier channels (x30): folding cancels them exactly; unfolded loses accuracy through the weights", () => {
    const wo = plantOutliers(W, [3, 17, 29]);
    const folded = compare(run(wo, true));
    const unfolded = compare(run(wo, false));
    expect(folded.cosDelta).toBeGreaterThanOrEqual(0.9995);
    expect(Math.abs(folded.cosDelta - compare(run(W, true)).cosDelta)).toBeLessThan(1e-6);
    expect(unfolded.cosDelta).toBeGreaterThanOrEqual(0.998);
  });

  it("rejects a head dim that is not a multiple of 8", () => {
    expect(() => new EncoderLayer(K, { ...W, heads: 8 })).toThrow(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
  });
});
