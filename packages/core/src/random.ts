/**
 * mulberry32: a small, fast, seedable 32-bit PRNG. The random-weight checkpoint generator, test data and fuzzers use
 * it so every figure is reproducible from a seed (the generated weights are hashed in the export goldens, so the
 * sequence must never change).
 * @returns a function giving uniform floats in [0, 1)
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
