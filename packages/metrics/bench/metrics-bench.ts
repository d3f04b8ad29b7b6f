/**
 * Metric time for an XM3600-sized audit on synthetic embeddings: 3,600 images x 36 languages, D = 768, captions per
 * image per language (default 1: CLIP_benchmark's first-caption policy). Times similarity, ranks, bootstrap and
 * representation bias separately. Sizes: BENCH_IMAGES, BENCH_LANGS, BENCH_DIM, BENCH_CAPTIONS, BENCH_RESAMPLES.
 * Run: npm run bench -w @siglip-edge/metrics
 */
import { cpus } from "node:os";
import { bootstrapRatios, createRng, dotRows, percentileInterval, representationBias, retrieval, type RatioStat } from "../src/index.ts";
import { tensor } from "@siglip-edge/core";

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const I = env("BENCH_IMAGES", 3600);
const L = env("BENCH_LANGS", 36);
const D = env("BENCH_DIM", 768);
const C = env("BENCH_CAPTIONS", 1);
const B = env("BENCH_RESAMPLES", 1000);
const T = I * C;

const rng = createRng(1);
const gauss = () => Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
function unitRows(x: Float32Array, n: number): Float32Array {
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let k = 0; k < D; k++) ss += x[r * D + k]! ** 2;
    const s = 1 / Math.sqrt(ss);
    for (let k = 0; k < D; k++) x[r * D + k]! *= s;
  }
  return x;
}

const images = unitRows(Float32Array.from({ length: I * D }, gauss), I); // [I, D]
const owner = Int32Array.from({ length: T }, (_, t) => t % I);
const timers = { similarity: 0, ranks: 0, bootstrap: 0, bias: 0 };
const stats: RatioStat[] = [];
const r1: number[] = [];
const wall0 = performance.now();
for (let l = 0; l < L; l++) {
  const noise = 1.5 + 0.05 * l; // harder languages further down the list
  const texts = new Float32Array(T * D);
  for (let t = 0; t < T; t++) for (let k = 0; k < D; k++) texts[t * D + k] = images[owner[t]! * D + k]! + (noise / Math.sqrt(D)) * 10 * gauss();
  unitRows(texts, T);
  let t0 = performance.now();
  const S = dotRows(images, I, texts, T, D); // [I, D] x [T, D]^T -> [I, T]
  timers.similarity += performance.now() - t0;
  t0 = performance.now();
  const r = retrieval(S, owner, { captionPolicy: "all" });
  const den = new Float64Array(I);
  const num = new Float64Array(I);
  r.perQuery.texts.forEach((t, q) => {
    den[owner[t]!]! += 1;
    num[owner[t]!]! += r.perQuery.textToImageRanks[q]! === 1 ? 1 : 0;
  });
  stats.push({ num, den }, { num: Float64Array.from(r.perQuery.imageToTextRanks, (x) => (x === 1 ? 1 : 0)), den: new Float64Array(I).fill(1) });
  timers.ranks += performance.now() - t0;
  r1.push(r.textToImage.recall["1"] ?? 0);
  t0 = performance.now();
  representationBias(tensor("float32", [I, D], images), texts.subarray(0, D), texts.subarray(D, 2 * D));
  timers.bias += performance.now() - t0;
  process.stderr.write(`\rlanguage ${l + 1}/${L}`);
}
process.stderr.write("\n");
const tb = performance.now();
const reps = bootstrapRatios(stats, { resamples: B, seed: 0 });
const cis = reps.map((x) => percentileInterval(x));
timers.bootstrap += performance.now() - tb;
const wall = (performance.now() - wall0) / 1000;
const s = (ms: number) => +(ms / 1000).toFixed(2);
const result = {
  images: I,
  languages: L,
  dim: D,
  captionsPerImage: C,
  resamples: B,
  seconds: { similarity: s(timers.similarity), ranks: s(timers.ranks), bootstrap: s(timers.bootstrap), representationBias: s(timers.bias), wallIncludingSynthesis: +wall.toFixed(1) },
  similarityGflops: +((2 * I * T * D * L) / (timers.similarity / 1000) / 1e9).toFixed(2),
  meanT2iR1: +(r1.reduce((a, b) => a + b, 0) / L).toFixed(4),
  ciExample: cis[0],
  machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
};
console.log(JSON.stringify(result, null, 1));
