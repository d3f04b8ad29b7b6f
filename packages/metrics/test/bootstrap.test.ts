import { describe, expect, it } from "vitest";
import { bootstrapRatios, forEachResample, pairedBootstrap, percentileInterval, ratioEstimate } from "../src/bootstrap.ts";
import { createRng } from "../src/prng.ts";
import { quantile, wilsonInterval } from "../src/stats.ts";

describe("seeded PRNG", () => {
  it("is deterministic per seed and roughly uniform", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
    const r = createRng(1);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[r.int(10)]!++;
    for (const n of counts) expect(Math.abs(n - 2000)).toBeLessThan(200); // ~4.7 sd
  });
});

describe("cluster bootstrap over images (audit-metrics §5)", () => {
  it("percentile interval uses linear interpolation (numpy default)", () => {
    // [1..5], level 0.5 -> q 0.25 at h = 1 -> 2, q 0.75 at h = 3 -> 4
    expect(percentileInterval([5, 1, 4, 2, 3], 0.5)).toEqual({ lo: 2, hi: 4 });
    // q 0.1 of [1, 2, 3, 4]: h = 0.3 -> 1.3
    expect(quantile([4, 3, 2, 1], 0.1)).toBeCloseTo(1.3, 12);
  });

  it("each replicate is sum(c_i num_i)/sum(c_i den_i) for the drawn multiplicities", () => {
    // image 0: 2 captions, 1 hit; image 1: 1 caption, 1 hit; image 2: 3 captions, 0 hits. Point estimate 2/6.
    const stat = { num: [1, 1, 0], den: [2, 1, 3] };
    expect(ratioEstimate(stat)).toBeCloseTo(1 / 3, 12);
    const expected: number[] = [];
    forEachResample(3, 50, 9, (c) => expected.push((c[0]! * 1 + c[1]! * 1) / (c[0]! * 2 + c[1]! * 1 + c[2]! * 3)));
    const [reps] = bootstrapRatios([stat], { resamples: 50, seed: 9 });
    expect(Array.from(reps ?? [])).toEqual(expected);
  });

  it("one resampling is shared by every statistic and reproducible from the seed", () => {
    const n = 300;
    const rng = createRng(5);
    const hitsA = Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
    const hitsB = Array.from({ length: n }, (_, i) => (hitsA[i] === 1 || rng.next() < 0.1 ? 1 : 0));
    const ones = new Array<number>(n).fill(1);
    const both = bootstrapRatios([{ num: hitsA, den: ones }, { num: hitsB, den: ones }], { resamples: 2000, seed: 11 });
    const onlyB = bootstrapRatios([{ num: hitsB, den: ones }], { resamples: 2000, seed: 11 });
    expect(Array.from(both[1] ?? [])).toEqual(Array.from(onlyB[0] ?? []));
    const ci = percentileInterval(both[0] ?? []);
    const again = percentileInterval(bootstrapRatios([{ num: hitsA, den: ones }], { resamples: 2000, seed: 11 })[0] ?? []);
    expect(again).toEqual(ci);
    // sanity against Wilson: the bootstrap interval of a proportion is close to it for n = 300
    const k = hitsA.reduce<number>((s, h) => s + h, 0);
    const w = wilsonInterval(k, n);
    expect(Math.abs(ci.lo - w.lo)).toBeLessThan(0.015);
    expect(Math.abs(ci.hi - w.hi)).toBeLessThan(0.015);
    // B dominates A query by query, so every paired replicate has B >= A and the difference is significant
    const paired = pairedBootstrap(both[1] ?? [], both[0] ?? [], ratioEstimate({ num: hitsB, den: ones }), ratioEstimate({ num: hitsA, den: ones }));
    expect(paired.ci.lo).toBeGreaterThan(0);
    expect(paired.p).toBeLessThan(0.01);
    console.log("bootstrap seed 11, B=2000:", { ci, wilson: w, paired });
  });

  it("sums a shared denominator once, with the bits of separate copies and of the per-image formula", () => {
    const rng = createRng(2);
    const n = 57;
    const den = Float64Array.from({ length: n }, () => 1 + rng.int(3));
    const nums = [0, 1, 2].map(() => Float64Array.from({ length: n }, (_, i) => rng.int((den[i] as number) + 1) / (1 + rng.int(4))));
    const shared = bootstrapRatios(nums.map((num) => ({ num, den })), { resamples: 300, seed: 4 });
    const copies = bootstrapRatios(nums.map((num) => ({ num, den: Float64Array.from(den) })), { resamples: 300, seed: 4 });
    expect(shared.map((r) => Array.from(r))).toEqual(copies.map((r) => Array.from(r)));
    const direct: number[] = [];
    forEachResample(n, 300, 4, (c) => {
      let a = 0;
      let d = 0;
      for (let i = 0; i < n; i++) {
        if (c[i] === 0) continue;
        a += c[i]! * nums[2]![i]!;
        d += c[i]! * den[i]!;
      }
      direct.push(a / d);
    });
    expect(Array.from(shared[2] ?? [])).toEqual(direct);
  });

  it("rejects an empty image set with a typed error", () => {
    expect(() => forEachResample(0, 10, 1, () => undefined)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
