/**
 * Stage graphs of packages/export (`convertCheckpoint(..., { stages })`), chained on onnxruntime-node, compute the
 * unsplit graph's `pooler_output`: exactly with graph optimisation off, within ulps with ORT's default fusions. (That
 * they hold no weights of their own is packages/export's test/stages.test.ts.) The tiny presets have 2 layers per
 * tower, so the checkpoints here are the same presets with 3 layers (stages 2: layers [0,1) [1,3); stages 3: one each).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { maxAbsDiff, tensor, type BundleManifest, type Tensor, type WeightDType } from "@siglip-edge/core";
import { readManifest } from "@siglip-edge/export";
import { naflexPositionEmbeddings, TokenRowReader } from "../src/index.ts";
import { createNodeEngine, fsBundleSource } from "../src/node/index.ts";
import { golden, idRows, removeTmp, stagedBundle } from "./goldens.ts";

afterAll(removeTmp);

interface Tower {
  graph: string;
  stages: string[];
  /** Inputs of the whole tower (= stage 0). */
  feeds: Record<string, Tensor>;
  /** Inputs later stages take besides `hidden_states`. */
  carry: string[];
}

type Optimization = "disabled" | "all";

const session = (dir: string, file: string, optimization: Optimization) => createNodeEngine().createSession({ kind: "path", path: join(dir, file) }, { optimization });

/** pooler_output of the whole graph and of the stages chained; checks each stage's input/output names. */
async function chain(dir: string, t: Tower, opt: Optimization): Promise<{ whole: Float32Array; chained: Float32Array }> {
  const w = await session(dir, t.graph, opt);
  const ref = (await w.run(t.feeds))["pooler_output"] as Tensor<"float32">;
  await w.release();
  let feeds = t.feeds;
  let pooled: Tensor | undefined;
  for (const [i, file] of t.stages.entries()) {
    const s = await session(dir, file, opt);
    try {
      const last = i === t.stages.length - 1;
      expect([...s.inputNames].sort()).toEqual(i === 0 ? Object.keys(t.feeds).sort() : ["hidden_states", ...t.carry].sort());
      expect([...s.outputNames]).toEqual([last ? "pooler_output" : "hidden_states_out"]);
      const out = await s.run(feeds);
      if (last) pooled = out["pooler_output"];
      else {
        feeds = { hidden_states: out["hidden_states_out"] as Tensor };
        for (const k of t.carry) feeds[k] = t.feeds[k] as Tensor;
      }
    } finally {
      await s.release();
    }
  }
  if (pooled === undefined) throw new Error("no stages");
  expect(pooled.dims).toEqual(ref.dims);
  return { whole: ref.data, chained: pooled.data as Float32Array };
}

async function towers(dir: string, m: BundleManifest): Promise<Record<"vision" | "textSplit", Tower>> {
  const stages = m.stages ?? { vision: [], textSplit: [] };
  const preset = m.family === "fixres" ? "tiny-fixres" : "tiny-naflex";
  const pv = golden(preset, "pixel_values");
  let vision: Tower;
  if (m.family === "fixres") {
    vision = { graph: m.graphs.vision, stages: stages.vision, carry: [], feeds: { pixel_values: pv } };
  } else {
    const pg = m.positionGrid;
    if (pg === null) throw new Error("NaFlex bundle without a position grid");
    const sd = golden(preset, "spatial_shapes").data as BigInt64Array;
    const [B, N] = pv.dims as [number, number];
    const shapes = Array.from({ length: B }, (_, b) => [Number(sd[2 * b]), Number(sd[2 * b + 1])] as const);
    const grid = new Float32Array(new Uint8Array(await readFile(join(dir, pg.file))).buffer);
    const mask = golden(preset, "pixel_attention_mask").data as Int32Array;
    vision = {
      graph: m.graphs.vision,
      stages: stages.vision,
      carry: ["pixel_attention_mask"],
      feeds: {
        pixel_values: pv,
        pixel_attention_mask: tensor("int64", [B, N], BigInt64Array.from(mask, (v) => BigInt(v))),
        position_embeddings: tensor("float32", [B, N, pg.dim], naflexPositionEmbeddings(grid, pg.side, pg.dim, shapes, N)),
      },
    };
  }
  const ids = idRows(golden(preset, "input_ids"));
  const [B, T, D] = [ids.length, ids[0]?.length ?? 0, m.tokenTable.dim];
  const t = m.tokenTable;
  const rows = new TokenRowReader(fsBundleSource(dir), { path: t.file, rows: t.rows, dim: t.dim, dtype: t.dtype, scales: t.scales });
  const flat = new Int32Array(B * T);
  ids.forEach((r, b) => flat.set(r, b * T));
  const textSplit: Tower = { graph: m.graphs.textSplit, stages: stages.textSplit, carry: [], feeds: { inputs_embeds: tensor("float32", [B, T, D], await rows.embed(flat, B, T)) } };
  return { vision, textSplit };
}

for (const preset of ["tiny-fixres", "tiny-naflex"]) {
  describe(`stage graphs ${preset}`, () => {
    for (const dtype of ["fp32", "q4"] as WeightDType[]) {
      for (const K of [2, 3]) {
        it(`${dtype}, ${K} stages: chained pooler_output = the whole graph's`, async () => {
          const dir = await stagedBundle(preset, dtype, K);
          const m = await readManifest(dir);
          for (const [tower, spec] of Object.entries(await towers(dir, m))) {
            // Nodes as written: the stages compute exactly the whole graph's function, bit for bit.
            const exact = await chain(dir, spec, "disabled");
            const d0 = maxAbsDiff(exact.whole, exact.chained);
            // onnxruntime's default fusions (what runtimes run): a fused residual Add + LayerNorm
            // (SkipLayerNormalization) in the whole graph is a plain LayerNorm at a stage boundary, a few ulps apart.
            const fused = await chain(dir, spec, "all");
            const d1 = maxAbsDiff(fused.whole, fused.chained);
            const scale = fused.whole.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
            console.log(
              `[runtime stage graphs] ${preset} ${dtype} ${tower} ${K} stages: chained vs whole pooler_output max|d| ${d0.toExponential(2)} (no graph optimisation), ` +
                `${d1.toExponential(2)} = ${(d1 / scale).toExponential(2)} of max|y| ${scale.toFixed(2)} (default optimisation; ${exact.whole.length} values)`,
            );
            expect(d0).toBe(0);
            expect(d1 / scale).toBeLessThanOrEqual(1e-6);
          }
        }, 60_000);
      }
    }
  });
}
