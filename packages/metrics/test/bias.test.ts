import { describe, expect, it } from "vitest";
import { tensor } from "@siglip-edge/core";
import { associationBias, preferenceHits, preferenceMargins, representationBias } from "../src/bias.ts";
import { createRng } from "../src/prng.ts";
import { normalizeRows } from "../src/similarity.ts";
import { maxSkewAtK, ndkl } from "../src/skew.ts";
import { weat, weatFromAssociations } from "../src/weat.ts";
import { zeroShotRates } from "../src/zero-shot.ts";

const t2 = (rows: number[][]) => tensor("float32", [rows.length, 2], Float32Array.from(rows.flat()));

describe("representation and association bias (audit-metrics §1.2)", () => {
  it("RB = |pM - 0.5| with a strict preference", () => {
    // male = e1, female = e2; images [2,1] M, [1,3] F, [1,1] tie (not M), [5,0.1] M, [3,1] M -> pM = 3/5, RB = 0.1
    const r = representationBias(t2([[2, 1], [1, 3], [1, 1], [5, 0.1], [3, 1]]), [1, 0], [0, 1]);
    expect(r.preferFirst).toBe(3);
    expect(r.rate).toBeCloseTo(0.6, 12);
    expect(r.rb).toBeCloseTo(0.1, 12);
    // Wilson k=3 n=5 z=1.959964: centre (0.6 + z²/10)/(1 + z²/5) = 0.556553, half 0.325826
    expect(r.rateCi.lo).toBeCloseTo(0.230724, 5);
    expect(r.rateCi.hi).toBeCloseTo(0.882379, 5);
    // the rate interval contains 0.5, so RB's interval starts at 0 and ends at 0.882379 - 0.5
    expect(r.rbCi.lo).toBe(0);
    expect(r.rbCi.hi).toBeCloseTo(0.382379, 5);
    expect(Array.from(r.hits)).toEqual([1, 0, 0, 1, 1]);
    // margins cos(x, e1) - cos(x, e2) = (x1 - x2) / |x|: [1/√5, -2/√10, 0, 4.9/√25.01, 2/√10]; the tie is exactly 0
    const m = preferenceMargins(t2([[2, 1], [1, 3], [1, 1], [5, 0.1], [3, 1]]), [1, 0], [0, 1]);
    [1 / Math.sqrt(5), -2 / Math.sqrt(10), 0, 4.9 / Math.sqrt(25.01), 2 / Math.sqrt(10)].forEach((want, i) => expect(m[i]).toBeCloseTo(want, 6));
    expect(m[2]).toBe(0);
    console.log("RB hand case:", { rate: r.rate, rb: r.rb, rateCi: r.rateCi, rbCi: r.rbCi });
  });

  it("imagesNormalized skips only the normalisation: rows from normalizeRows give the same hits", () => {
    const rng = createRng(8);
    const images = tensor("float32", [200, 6], Float32Array.from({ length: 1200 }, () => rng.next() - 0.5));
    const a = Array.from({ length: 6 }, () => rng.next() - 0.5);
    const b = Array.from({ length: 6 }, () => rng.next() - 0.5);
    const unit = tensor("float32", [200, 6], normalizeRows(images));
    expect(Array.from(preferenceHits(unit, a, b, { imagesNormalized: true }))).toEqual(Array.from(preferenceHits(images, a, b)));
  });

  it("AB = |P_female - P_male| for one occupation pair", () => {
    // nurse = e1, doctor = e2. Female images [2,1] [1,2] [3,1] -> 2/3 prefer nurse; male [1,2] [1,3] -> 0/2.
    const r = associationBias(t2([[2, 1], [1, 2], [3, 1], [1, 2], [1, 3]]), ["Female", "Female", "Female", "Male", "Male"], [1, 0], [0, 1], "Female", "Male");
    expect(r.groups["Female"]?.rate).toBeCloseTo(2 / 3, 12);
    expect(r.groups["Male"]?.rate).toBe(0);
    expect(r.ab).toBeCloseTo(2 / 3, 12);
    expect(() => associationBias(t2([[1, 0]]), ["Female"], [1, 0], [0, 1], "Female", "Male")).toThrowError(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});

describe("MaxSkew@k and NDKL (audit-metrics §2)", () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
  const groups = ["F", "F", "M", "F", "M", "M"];
  it("MaxSkew@k", () => {
    // k=2: top F,F -> p_k(F)=1, p_k(M)=0 -> 1/k; uniform p*=1/2: max(ln 2, ln 1) = ln 2
    expect(maxSkewAtK(scores, groups, 2)).toBeCloseTo(Math.LN2, 12);
    // k=3: F 2/3, M 1/3 -> ln(4/3) = 0.287682
    expect(maxSkewAtK(scores, groups, 3)).toBeCloseTo(0.2876820725, 9);
    // prior target: groups [F,M,M,M], top-2 F,M -> ln(0.5/0.25) = ln 2 vs ln(0.5/0.75) < 0 -> ln 2; uniform -> 0
    expect(maxSkewAtK([0.9, 0.8, 0.7, 0.6], ["F", "M", "M", "M"], 2, "prior")).toBeCloseTo(Math.LN2, 12);
    expect(maxSkewAtK([0.9, 0.8, 0.7, 0.6], ["F", "M", "M", "M"], 2, "uniform")).toBe(0);
  });
  it("NDKL", () => {
    // k=2: both prefixes are all-F -> KL = ln 2 each -> NDKL = ln 2
    expect(ndkl(scores, groups, 2)).toBeCloseTo(Math.LN2, 12);
    // k=3: third prefix (2/3, 1/3): KL = 2/3 ln(4/3) + 1/3 ln(2/3) = 0.056633, / log2 4
    // (ln2 + ln2/log2 3 + 0.056633/2) / (1 + 1/log2 3 + 1/2) = 0.543796
    expect(ndkl(scores, groups, 3)).toBeCloseTo(0.5437959016, 9);
    expect(() => ndkl(scores, groups, 7)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("WEAT / cross-modal EAT (audit-metrics §2)", () => {
  it("effect size and exact permutation p", () => {
    // A = e1, B = e2. s(w) = cos(w,A) - cos(w,B): X: [1,0] -> 1, [1,1] -> 0; Y: [0,1] -> -1, [1,2] -> -1/sqrt5
    // d = (0.5 - (-0.723607)) / std_ddof1(1, 0, -1, -0.447214) = 1.223607 / 0.846562 = 1.445384
    // partitions of 4 into 2: sums {1, 0.553, 0, -0.447, -1, -1.447}; only the observed 1 is >= 1 -> p = 1/6
    const r = weat(t2([[1, 0], [1, 1]]), t2([[0, 1], [1, 2]]), t2([[1, 0]]), t2([[0, 1]]));
    expect(r.effectSize).toBeCloseTo(1.4453841183, 6);
    expect(r.p).toBeCloseTo(1 / 6, 12);
    expect(r.exact).toBe(true);
    expect(r.partitions).toBe(6);
    console.log("WEAT hand case:", { d: r.effectSize, p: r.p });
  });
  it("Monte Carlo p-value is reproducible from the seed and close to the exact one", () => {
    const sX = Array.from({ length: 8 }, (_, i) => 0.1 * i);
    const sY = Array.from({ length: 8 }, (_, i) => 0.1 * i - 0.25);
    const exact = weatFromAssociations(sX, sY, { permutations: 20_000 }); // C(16,8) = 12,870 <= 20,000
    const mc1 = weatFromAssociations(sX, sY, { permutations: 5_000, seed: 7 });
    const mc2 = weatFromAssociations(sX, sY, { permutations: 5_000, seed: 7 });
    expect(exact.exact).toBe(true);
    expect(exact.partitions).toBe(12_870);
    expect(mc1.exact).toBe(false);
    expect(mc1.p).toBe(mc2.p);
    expect(Math.abs(mc1.p - exact.p)).toBeLessThan(0.03);
    console.log("WEAT exact vs Monte Carlo p:", exact.p, mc1.p);
  });
});

describe("zero-shot misclassification rates (audit-metrics §2)", () => {
  it("rates per group, accuracy and disparity", () => {
    // labels: 0 "man", 1 "woman", 2 "animal" (nonhuman). Predictions: [2,1,0] -> 0; [0,1,3] -> 2; [1,2,0] -> 1;
    // [0,0,0] -> 0 (first on ties). Race A = images 0,1; B = 2,3. True labels [0,1,1,0].
    const r = zeroShotRates([2, 1, 0, 0, 1, 3, 1, 2, 0, 0, 0, 0], [null, null, "nonhuman"], { race: ["A", "A", "B", "B"] }, [0, 1, 1, 0]);
    expect(Array.from(r.predictions)).toEqual([0, 2, 1, 0]);
    expect(r.byAttribute["race"]?.["A"]?.categories["nonhuman"]?.rate).toBe(0.5);
    expect(r.byAttribute["race"]?.["B"]?.categories["nonhuman"]?.rate).toBe(0);
    expect(r.byAttribute["race"]?.["A"]?.accuracy?.rate).toBe(0.5);
    expect(r.byAttribute["race"]?.["B"]?.accuracy?.rate).toBe(1);
    expect(r.disparity["race"]).toBe(0.5);
    expect(r.overall.categories["nonhuman"]?.rate).toBe(0.25);
  });
});
