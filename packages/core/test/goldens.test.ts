import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHECKPOINTS, countParameters, l2NormalizeRows, maxAbsDiff, resizePositionGrid, sigmoid, siglipLogits, tensor } from "../src/index.ts";

interface CoreGolden {
  parameterCounts: Record<string, { vision: number; text: number; tokenTable: number; total: number }>;
  logits: { images: number[][]; texts: number[][]; logitScale: number; logitBias: number; logitsPerImage: number[][]; probs: number[][] };
  positionResize: { G: number; D: number; grid: number[]; cases: { h: number; w: number; out: number[] }[] };
}

const golden = JSON.parse(readFileSync(new URL("../../../fixtures/goldens/core/core.json", import.meta.url), "utf8")) as CoreGolden;

describe("registry against transformers (meta-device models built from the registry shapes)", () => {
  it.each(CHECKPOINTS.map((c) => [c.id, c] as const))("%s has the reference's parameter counts", (id, c) => {
    expect(countParameters(c)).toEqual(golden.parameterCounts[id]);
  });

  it("covers every checkpoint the reference counted", () => {
    expect(CHECKPOINTS.map((c) => c.id).sort()).toEqual(Object.keys(golden.parameterCounts).sort());
    console.log(`registry: ${CHECKPOINTS.length} checkpoints match transformers' parameter counts`);
  });
});

describe("embedding maths against SiglipModel's formula", () => {
  it("gives the same logits and sigmoid probabilities", () => {
    const g = golden.logits;
    const img = l2NormalizeRows(tensor("float32", [g.images.length, 16], Float32Array.from(g.images.flat())));
    const txt = l2NormalizeRows(tensor("float32", [g.texts.length, 16], Float32Array.from(g.texts.flat())));
    const logits = siglipLogits(img, txt, { logitScale: g.logitScale, logitBias: g.logitBias });
    expect(logits.dims).toEqual([3, 4]);
    const diff = maxAbsDiff(logits.data, g.logitsPerImage.flat());
    const pdiff = maxAbsDiff(Array.from(logits.data, sigmoid), g.probs.flat());
    console.log(`logits max |diff| ${diff.toExponential(2)}, probs ${pdiff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-5);
    expect(pdiff).toBeLessThan(1e-6);
  });
});

describe("NaFlex position-grid resize against torch antialiased bilinear", () => {
  const g = golden.positionResize;
  it.each(g.cases.map((c) => [`${c.h}x${c.w}`, c] as const))("%s", (_, c) => {
    const out = resizePositionGrid(Float32Array.from(g.grid), g.G, g.D, c.h, c.w);
    expect(out.length).toBe(c.h * c.w * g.D);
    expect(maxAbsDiff(out, c.out)).toBeLessThan(1e-5);
  });

  it("departs from torch only where torch departs from the formula (width 1), when asked to", () => {
    const c = g.cases.find((x) => x.h === 20 && x.w === 1);
    expect(c?.out).toHaveLength(20 * 1 * g.D);
    const exact = resizePositionGrid(Float32Array.from(g.grid), g.G, g.D, 20, 1, { torchCompatible: false });
    expect(maxAbsDiff(exact, c?.out ?? [])).toBeGreaterThan(0.1);
    // Rows of the formula's result differ from each other; torch repeats the first one.
    expect(maxAbsDiff(exact.subarray(0, g.D), exact.subarray(19 * g.D, 20 * g.D))).toBeGreaterThan(0.1);
  });
});
