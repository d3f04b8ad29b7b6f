/**
 * The audit's metrics stage on a planted folder (plant-files.ts), in its own process so its peak RSS is its own:
 * normalisation, similarities, T→I / I→T ranks and recall@1/5/10 per language (streamed, kernel `ort` or `js`),
 * then 1,000 image-bootstrap resamples of all 8 x languages statistics with percentile CIs.
 * Reading and densifying the embeddings is outside the timers. Prints one JSON object.
 * Usage: node bench/metrics-stage.ts DIR ort|js [LANGUAGES]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bootstrapRatios, jsKernel, normalizeRows, percentileInterval, retrievalRatioStats, streamRetrieval, type RatioStat, type SimilarityKernel } from "../src/index.ts";
import { tensor } from "@siglip-edge/core";
import { readDense, readInt32, readMeta } from "./plant-files.ts";

/** Peak RSS from VmHWM: getrusage's maxrss survives fork + exec, so it would report the bench parent's peak. */
const vmHwmMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? Number.NaN) / 1024;

const [dir = "", which = "ort", maxLangs] = process.argv.slice(2);
const meta = readMeta(dir);
const languages = meta.languages.slice(0, maxLangs === undefined ? undefined : Number(maxLangs));
const KS = [1, 5, 10];
let ortKernel: (SimilarityKernel & { close(): Promise<void> }) | undefined;
if (which === "ort") {
  const { createMatmulKernel } = await import("@siglip-edge/runtime/node");
  ortKernel = await createMatmulKernel();
}
const kernel: SimilarityKernel = ortKernel ?? jsKernel;

const owner = readInt32(join(dir, "owner.npy"));
const raw = readDense(join(dir, "images"), meta.dim);
const I = meta.images;
const seconds = { normalizeImages: 0, retrieval: 0, bootstrap: 0 };
const stats: RatioStat[] = [];
const hits: { language: string; t2i: number[]; i2t: number[]; queries: number[] }[] = [];
let exact = true;
const perLanguage: number[] = [];

let t0 = performance.now();
const images = tensor("float32", [I, meta.dim], normalizeRows(raw)); // [I, D] unit rows, reused by every language
seconds.normalizeImages = (performance.now() - t0) / 1000;
for (const language of languages) {
  const texts = readDense(join(dir, language, "texts"), meta.dim); // untimed: loading the embeddings
  t0 = performance.now();
  const r = await streamRetrieval(images, texts, owner, { kernel, imagesNormalized: true, ks: KS });
  stats.push(...retrievalRatioStats(r.perQuery, owner, I, KS));
  seconds.retrieval += (performance.now() - t0) / 1000;
  perLanguage.push(+((performance.now() - t0) / 1000).toFixed(3));
  const wantT = readInt32(join(dir, language, "expected.t2i.npy"));
  const wantI = readInt32(join(dir, language, "expected.i2t.npy"));
  exact &&= wantT.every((x, q) => x === r.perQuery.textToImageRanks[q]) && wantI.every((x, i) => x === r.perQuery.imageToTextRanks[i]);
  const count = (ranks: Int32Array) => KS.map((k) => ranks.reduce((s, x) => s + (x > 0 && x <= k ? 1 : 0), 0));
  hits.push({ language, t2i: count(r.perQuery.textToImageRanks), i2t: count(r.perQuery.imageToTextRanks), queries: [r.textToImage.queries, r.imageToText.queries] });
}
seconds.retrieval += seconds.normalizeImages;
t0 = performance.now();
const cis = bootstrapRatios(stats, { resamples: 1000, seed: 0 }).map((reps) => percentileInterval(reps));
seconds.bootstrap = (performance.now() - t0) / 1000;
await ortKernel?.close();
console.log(
  JSON.stringify({
    kernel: kernel.name,
    languages: languages.length,
    seconds: { ...seconds, total: seconds.retrieval + seconds.bootstrap },
    perLanguageSeconds: perLanguage,
    peakRssMiB: vmHwmMiB(),
    exact,
    hits,
    firstCi: cis[0],
  }),
);
