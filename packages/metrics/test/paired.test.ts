import { describe, expect, it } from "vitest";
import { holmAdjust, mcnemarExact, wilcoxonSignedRank } from "../src/paired.ts";

describe("paired tests (audit-metrics §5)", () => {
  it("exact McNemar on discordant pairs", () => {
    // b = A hit / B miss at queries 0, 1; c = A miss / B hit at query 4; n = 3, P(X <= 1) = (1 + 3)/8 -> p = 1
    expect(mcnemarExact([1, 1, 1, 0, 0, 1], [0, 0, 1, 0, 1, 1])).toEqual({ b: 2, c: 1, p: 1 });
    // b = 5, c = 0: p = 2 * (1/2)^5 = 0.0625
    expect(mcnemarExact([1, 1, 1, 1, 1], [0, 0, 0, 0, 0]).p).toBeCloseTo(0.0625, 12);
    // b = 6, c = 1: P(X <= 1) = (1 + 7)/128 -> p = 0.125
    const r = mcnemarExact([1, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 1]);
    expect(r.p).toBeCloseTo(0.125, 12);
    // no discordant pairs -> p = 1
    expect(mcnemarExact([1, 0], [1, 0]).p).toBe(1);
    console.log("McNemar b=6 c=1:", r);
  });

  it("McNemar stays finite for thousands of discordant pairs", () => {
    const a = Array.from({ length: 4000 }, (_, i) => (i < 2100 ? 1 : 0));
    const b = Array.from({ length: 4000 }, (_, i) => (i < 2100 ? 0 : 1));
    const r = mcnemarExact(a, b); // b = 2100, c = 1900: z ≈ 3.16 -> p ≈ 0.0016
    expect(r.p).toBeGreaterThan(0.001);
    expect(r.p).toBeLessThan(0.003);
  });

  it("Wilcoxon signed-rank, exact", () => {
    // d = 1..5 all positive: W+ = 15, P(W+ >= 15) = 1/32 -> p = 2/32
    const all = wilcoxonSignedRank([2, 3, 4, 5, 6], [1, 1, 1, 1, 1]);
    expect(all).toEqual({ n: 5, wPlus: 15, wMinus: 0, p: 0.0625 });
    // d = [1, -2, 3, 4, 5]: W+ = 13, W- = 2; P(W- <= 2) = #{{}, {1}, {2}}/32 = 3/32 -> p = 6/32 = 0.1875
    const one = wilcoxonSignedRank([1, -2, 3, 4, 5], [0, 0, 0, 0, 0]);
    expect(one.wPlus).toBe(13);
    expect(one.p).toBeCloseTo(0.1875, 12);
    // zeros dropped: d = [0, 1, 2] -> n = 2, W+ = 3 = max, P = 1/4 -> p = 0.5
    expect(wilcoxonSignedRank([0, 1, 2], [0, 0, 0]).p).toBeCloseTo(0.5, 12);
    // tied |d| = [1, 1, 2] with signs (+, +, -): ranks 1.5, 1.5, 3, W+ = 3; doubled sums {0,3,3,6,6,9,9,12}, W+2 = 6
    // P(<= 6) = 5/8 = P(>= 6) -> p = 1
    const tied = wilcoxonSignedRank([1, 1, -2], [0, 0, 0]);
    expect(tied.wPlus).toBe(3);
    expect(tied.p).toBe(1);
    console.log("Wilcoxon d=[1,-2,3,4,5]:", one);
  });

  it("Holm step-down adjustment", () => {
    // sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adj[0]).toBeCloseTo(0.03, 12);
    expect(adj[1]).toBeCloseTo(0.06, 12);
    expect(adj[2]).toBeCloseTo(0.06, 12);
    expect(adj[3]).toBeCloseTo(0.02, 12);
    expect(holmAdjust([0.6, 0.9])).toEqual([1, 1]);
  });
});
