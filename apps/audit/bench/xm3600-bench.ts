/**
 * `siglip audit run` at XM3600 scale as a user runs it: the XM3600 layout (3,600 images, 36 languages x 2 captions
 * per image = 259,200 captions, captions.jsonl) with precomputed D = 768 embeddings planted so retrieval is known
 * by construction (metrics/testing), every built-in prompt set (random prompt vectors), 1,000 resamples. Runs the
 * CLI cold (embeds into the SQLite cache, then the report) and again with everything cached; wall time and peak RSS
 * (VmHWM) of each process; checks every language's recall against the plant.
 * Sizes: BENCH_IMAGES, BENCH_LANGS, BENCH_DIM. Needs ~2 GB of temporary disk at full size.
 * Run: node bench/xm3600-bench.ts (npm run bench:xm3600 -w @siglip-edge/audit)
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeNpy, tensor } from "@siglip-edge/core";
import { createRng, summarizeRanks } from "@siglip-edge/metrics";
import { densify, plantedRanks, plantRetrieval } from "@siglip-edge/metrics/testing";
import { BUILTIN_PROMPT_SETS, loadXm3600, parsePromptSet, REPO_ROOT, textsToEmbed, XM3600_LANGUAGES, type AuditReport } from "../src/index.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const I = env("BENCH_IMAGES", 3600);
const L = Math.min(env("BENCH_LANGS", 36), XM3600_LANGUAGES.length);
const D = env("BENCH_DIM", 768);
const C = 2;
const languages = XM3600_LANGUAGES.slice(0, L);
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

/** The .npy header of a float32 [rows, cols] array whose rows are appended afterwards (encodeNpy of no data). */
const npyHeader = (rows: number, cols: number): Uint8Array => encodeNpy({ dtype: "float32", dims: [rows, cols], data: new Float32Array(0) });

const work = mkdtempSync(join(tmpdir(), "audit-xm3600-"));
try {
  const data = join(work, "xm3600");
  const emb = join(work, "embeddings");
  mkdirSync(join(data, "images"), { recursive: true });
  mkdirSync(emb, { recursive: true });
  const keys = Array.from({ length: I }, (_, i) => `img${String(i).padStart(5, "0")}`);
  keys.forEach((k) => writeFileSync(join(data, "images", `${k}.jpg`), k)); // hashed, never decoded
  const plants = languages.map((_, l) => plantRetrieval({ images: I, captionsPerImage: C, dim: D, seed: 2000 + l, layoutSeed: 2000, top1: 0.62 - 0.01 * l, hubs: 12, tieShare: 0.1 }));
  const captionText = (lang: string, t: number) => `${lang} caption ${t}`;
  // captions.jsonl: one line per image, each language's captions in plant order (caption t belongs to image t mod I)
  const lines = keys.map((key, i) => JSON.stringify({ "image/key": key, ...Object.fromEntries(languages.map((lang) => [lang, { caption: Array.from({ length: C }, (_, k) => captionText(lang, k * I + i)) }])) }));
  writeFileSync(join(data, "captions.jsonl"), lines.join("\n") + "\n");
  const dataset = loadXm3600(data);
  const promptSets = BUILTIN_PROMPT_SETS.map((id) => {
    const p = join(REPO_ROOT, "fixtures/prompts", `${id}.json`);
    return parsePromptSet(JSON.parse(readFileSync(p, "utf8")), p);
  });
  const captions = new Set(dataset.captions.map((c) => c.text));
  const prompts = textsToEmbed(dataset, promptSets, languages).filter((t) => !captions.has(t));
  const texts = [...languages.flatMap((lang) => Array.from({ length: I * C }, (_, t) => captionText(lang, t))), ...prompts];
  writeFileSync(join(emb, "texts.json"), JSON.stringify(texts));
  const textsNpy = join(emb, "texts.npy");
  writeFileSync(textsNpy, npyHeader(texts.length, D));
  for (const p of plants) appendFileSync(textsNpy, new Uint8Array(densify(p.texts).buffer));
  const rng = createRng(5);
  appendFileSync(textsNpy, new Uint8Array(Float32Array.from({ length: prompts.length * D }, () => rng.next() - 0.5).buffer));
  writeFileSync(join(emb, "images.json"), JSON.stringify(keys));
  writeFileSync(join(emb, "images.npy"), encodeNpy(tensor("float32", [I, D], densify((plants[0] ?? plantRetrieval({ images: I, captionsPerImage: C, dim: D, seed: 0 })).images))));
  writeFileSync(join(emb, "model.json"), JSON.stringify({ model: "planted-xm3600", revision: "bench" }));

  const out = join(work, "out");
  const run = (name: string) => {
    const rssFile = join(work, `${name}.vmhwm`);
    const before = load();
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      ["--import", join(HERE, "vmhwm-on-exit.ts"), join(REPO_ROOT, "apps/cli/bin/siglip.js"), "audit", "run", "--provider", "precomputed", "--embeddings", emb, "--dataset", `xm3600:${data}`, "--out", out, "--resamples", "1000", "--batch", "256"],
      { encoding: "utf8", env: { ...process.env, VMHWM_FILE: rssFile }, maxBuffer: 1 << 24 },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`siglip audit run failed (${r.status}): ${r.stderr}`);
    return { seconds: +seconds.toFixed(1), peakRssMiB: Math.round(Number(readFileSync(rssFile, "utf8"))), load: `${before} -> ${load()}`, summary: r.stderr.trim().split("\n").at(-1)?.replaceAll(out, "OUT") };
  };
  const cold = run("cold");
  const cached = run("cached");
  const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as AuditReport;
  const exact = report.retrieval.languages.every((got, l) => {
    const want = plantedRanks(plants[l] ?? plants[0]!);
    const t2i = summarizeRanks(want.textToImageRanks, I);
    const i2t = summarizeRanks(want.imageToTextRanks, I * C);
    // recall and mean rank are sums of integers (exact in any order); MRR sums 1/rank in the dataset's caption order
    const key = (x: { textToImage: { recall: unknown; meanRank: number }; imageToText: { recall: unknown; meanRank: number } }) => JSON.stringify([x.textToImage.recall, x.textToImage.meanRank, x.imageToText.recall, x.imageToText.meanRank]);
    const same = key(got) === key({ textToImage: t2i, imageToText: i2t }) && Math.abs(got.textToImage.mrr - t2i.mrr) < 1e-12 && Math.abs(got.imageToText.mrr - i2t.mrr) < 1e-12;
    if (!same) process.stderr.write(`${got.language}: report ${key(got)} planted ${key({ textToImage: t2i, imageToText: i2t })}\n`);
    return same;
  });
  console.log(
    JSON.stringify(
      {
        shape: { images: I, languages: L, captions: I * C * L, prompts: prompts.length, dim: D },
        command: "siglip audit run --provider precomputed --embeddings DIR --dataset xm3600:DIR --out OUT --resamples 1000 --batch 256",
        cold,
        allCached: cached,
        exactPlantedRecall: exact,
        biasCells: report.bias.cells.length,
        // schemaVersion 2 carries the explorer (captions, ranks, top-5 per query) and per-image bias preferences
        bytes: { reportJson: statSync(join(out, "report.json")).size, indexHtml: statSync(join(out, "index.html")).size, explorer: JSON.stringify(report.explorer).length, bias: JSON.stringify(report.bias).length },
        machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
      },
      null,
      1,
    ),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
