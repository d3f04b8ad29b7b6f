/**
 * Planted activation-outlier checkpoints (issue 15): the outlier checkpoint of a seed differs from the ordinary one
 * exactly in the LayerNorms that feed a linear layer (weight and bias times the gain at a few channels) and in the
 * input columns of the linear layers they feed (divided by the gain), nothing else. The expected tensors are listed
 * here from the architecture (siglip2-spec §2-4), not taken from the generator's own plan. That the fp32 function is
 * unchanged is checked by the reference (tools/reference/outlier_check.py): its record names the weights it ran on.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasErrorCode } from "@siglip-edge/core";
import { sha256File } from "../src/bundle.ts";
import { openCheckpoint } from "../src/checkpoint.ts";
import type { ModelConfig } from "../src/config.ts";
import { DEFAULT_OUTLIERS, generateCheckpoint, type OutlierOptions } from "../src/generate.ts";
import { GOLDENS, tensorsOf } from "./fixtures.ts";

const root = await mkdtemp(join(tmpdir(), "siglip-outliers-test-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** LayerNorm prefix -> the linear weights reading its output, with the rows that read it ([first, end)). */
function expectedSites(c: ModelConfig): Map<string, { weight: string; rows: [number, number] }[]> {
  const m = new Map<string, { weight: string; rows: [number, number] }[]>();
  for (const [tower, t] of [["text_model", c.text], ["vision_model", c.vision]] as const) {
    for (let i = 0; i < t.numLayers; i++) {
      const p = `${tower}.encoder.layers.${i}`;
      m.set(`${p}.layer_norm1`, ["q_proj", "k_proj", "v_proj"].map((x) => ({ weight: `${p}.self_attn.${x}.weight`, rows: [0, t.hiddenSize] as [number, number] })));
      m.set(`${p}.layer_norm2`, [{ weight: `${p}.mlp.fc1.weight`, rows: [0, t.intermediateSize] }]);
    }
  }
  m.set("text_model.final_layer_norm", [{ weight: "text_model.head.weight", rows: [0, c.text.projectionSize] }]);
  const D = c.vision.hiddenSize;
  // The MAP head's query is the probe: only the key and value rows of the packed in_proj read post_layernorm.
  m.set("vision_model.post_layernorm", [{ weight: "vision_model.head.attention.in_proj_weight", rows: [D, 3 * D] }]);
  m.set("vision_model.head.layernorm", [{ weight: "vision_model.head.mlp.fc1.weight", rows: [0, c.vision.intermediateSize] }]);
  return m;
}

/** Indices where two equal-length arrays differ. */
function diffIndices(a: Float32Array, b: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

async function checkPlanting(preset: string, seed: number, opts: OutlierOptions): Promise<void> {
  const plainDir = join(root, `${preset}-${seed}`);
  const outDir = join(root, `${preset}-${seed}-outliers-${opts.channels}-${opts.gain}`);
  const config = await generateCheckpoint(plainDir, preset, { seed });
  await generateCheckpoint(outDir, preset, { seed, outliers: opts });
  const plain = await tensorsOf(plainDir);
  const out = await tensorsOf(outDir);
  const shapes = (await openCheckpoint(plainDir)).tensors;
  expect([...out.keys()].sort()).toEqual([...plain.keys()].sort());
  const sites = expectedSites(config);
  const touched = new Set<string>();
  const channelSets = new Set<string>();
  for (const [ln, linears] of sites) {
    const w0 = plain.get(`${ln}.weight`) as Float32Array;
    const w1 = out.get(`${ln}.weight`) as Float32Array;
    const b0 = plain.get(`${ln}.bias`) as Float32Array;
    const b1 = out.get(`${ln}.bias`) as Float32Array;
    const channels = diffIndices(w0, w1);
    expect(channels, ln).toHaveLength(opts.channels);
    expect(diffIndices(b0, b1), `${ln}.bias`).toEqual(channels);
    for (const j of channels) {
      expect(w1[j], `${ln}.weight[${j}]`).toBe(Math.fround((w0[j] as number) * opts.gain));
      expect(b1[j], `${ln}.bias[${j}]`).toBe(Math.fround((b0[j] as number) * opts.gain));
    }
    channelSets.add(channels.join(","));
    touched.add(`${ln}.weight`).add(`${ln}.bias`);
    for (const { weight, rows } of linears) {
      const a = plain.get(weight) as Float32Array;
      const b = out.get(weight) as Float32Array;
      const cols = shapes.get(weight)?.shape[1] as number;
      const want = new Set<number>();
      for (let r = rows[0]; r < rows[1]; r++) for (const j of channels) want.add(r * cols + j);
      const got = diffIndices(a, b);
      expect(got.length, weight).toBe(want.size);
      for (const i of got) {
        expect(want.has(i), `${weight}: element ${i} (row ${Math.floor(i / cols)}, column ${i % cols}) changed`).toBe(true);
        expect(b[i]).toBe(Math.fround((a[i] as number) / opts.gain));
      }
      touched.add(weight);
    }
  }
  // Channels are drawn per LayerNorm, not one set for all.
  expect(channelSets.size).toBeGreaterThan(sites.size / 2);
  for (const [name, a] of plain) {
    if (!touched.has(name)) expect(diffIndices(a, out.get(name) as Float32Array), `${name} must be untouched`).toEqual([]);
  }
  const record = JSON.parse(await readFile(join(outDir, "outliers.json"), "utf8")) as { sites: { layerNorm: string; channels: number[] }[] };
  expect(record.sites.map((s) => s.layerNorm).sort()).toEqual([...sites.keys()].sort());
}

describe("planted outlier checkpoints", () => {
  it("tiny FixRes: only the planted LayerNorm channels and the matching input columns change, by the gain", async () => {
    await checkPlanting("tiny-fixres", 11, DEFAULT_OUTLIERS);
  });

  it("tiny NaFlex, other channel count and gain: the same rule", async () => {
    await checkPlanting("tiny-naflex", 5, { channels: 2, gain: 8 });
  });

  it("rejects bad outlier options with a typed error", async () => {
    for (const bad of [{ channels: 0, gain: 30 }, { channels: 2.5, gain: 30 }, { channels: 3, gain: 0 }, { channels: 100000, gain: 30 }]) {
      const err = await generateCheckpoint(join(root, "bad"), "tiny-fixres", { outliers: bad }).catch((e: unknown) => e);
      expect(hasErrorCode(err, "INVALID_ARGUMENT"), JSON.stringify(bad)).toBe(true);
    }
    expect(existsSync(join(root, "bad")), "nothing written for bad options").toBe(false);
  });
});

interface OutlierRecord {
  preset: string;
  seed: number;
  outliers: OutlierOptions;
  weights_sha256: { ordinary: string; outliers: string };
  pooled: { tower: string; cosine: number; max_abs_diff: number }[];
  layer_norms: { layer_norm: string; planted?: number[]; planted_are_top?: boolean; ratio_ordinary: number; ratio_outliers: number }[];
}

describe("reference record (tools/reference/outlier_check.py)", () => {
  it("was made on the weights the generator writes today, and found the fp32 function unchanged", async () => {
    const record = JSON.parse(readFileSync(join(GOLDENS, "outliers", "record.json"), "utf8")) as OutlierRecord;
    const plainDir = join(root, "record-ordinary");
    const outDir = join(root, "record-outliers");
    await generateCheckpoint(plainDir, record.preset, { seed: record.seed });
    await generateCheckpoint(outDir, record.preset, { seed: record.seed, outliers: record.outliers });
    expect(await sha256File(join(plainDir, "model.safetensors"))).toBe(record.weights_sha256.ordinary);
    expect(await sha256File(join(outDir, "model.safetensors"))).toBe(record.weights_sha256.outliers);
    expect(record.pooled.map((p) => p.tower).sort()).toEqual(["image", "text"]);
    for (const p of record.pooled) expect(p.cosine, p.tower).toBeGreaterThanOrEqual(0.99999);
    // The reference saw the planted channels as the largest LayerNorm outputs, at the channels planted today.
    const sites = (JSON.parse(await readFile(join(outDir, "outliers.json"), "utf8")) as { sites: { layerNorm: string; channels: number[] }[] }).sites;
    expect(record.layer_norms.map((n) => n.layer_norm).sort()).toEqual(sites.map((s) => s.layerNorm).sort());
    for (const s of sites) {
      const n = record.layer_norms.find((x) => x.layer_norm === s.layerNorm);
      expect(n?.planted, s.layerNorm).toEqual(s.channels);
      expect(n?.planted_are_top, s.layerNorm).toBe(true);
      expect(n?.ratio_outliers, s.layerNorm).toBeGreaterThan(record.outliers.gain / 2);
    }
  });
});
