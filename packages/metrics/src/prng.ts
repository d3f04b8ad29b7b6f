/**
 * Seeded pseudo-random numbers for bootstrap resampling and permutation tests (audit-metrics.md §5: "bootstrap CIs are
 * reproducible from a seed"). SplitMix32-seeded xoshiro128** : fast, 2^128 period, identical on every JS engine
 * because it only uses 32-bit integer arithmetic.
 * @module
 */

/** A deterministic random source. */
export interface Rng {
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Creates a generator from an integer seed (any safe integer; the low and high 32 bits are both mixed in). */
export function createRng(seed: number): Rng {
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  const sm = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  if ((a | b | c | d) === 0) a = 1; // xoshiro's all-zero state is a fixed point
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    next: () => nextU32() / 0x100000000,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`int(n) needs 1 <= n <= 2^32, got ${n}`);
      // Reject the top partial block so every residue is equally likely.
      const limit = 0x100000000 - (0x100000000 % n);
      for (;;) {
        const u = nextU32();
        if (u < limit) return u % n;
      }
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** In-place Fisher-Yates shuffle driven by `rng`. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(arr: T, rng: Rng): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}
