/**
 * The audit's metrics stage at XM3600 scale on planted embeddings (3,600 images, 2 captions each, 36 languages,
 * D = 768; recall known by construction), next to numpy computing the same similarities, ranks and recall@1/5/10 on
 * the same files in the same run. Each side runs in its own process (wall time of the metric work, peak RSS),
 * alternating, BENCH_REPEATS times; the pure-JS kernel runs on BENCH_JS_LANGS languages and is extrapolated.
 * Then `siglip audit retrieval` on the first language as a user runs it (dense .npy in, JSON out, 1,000 resamples),
 * timed as a whole process and checked against the planted summaries.
 * Sizes: BENCH_IMAGES, BENCH_CAPTIONS, BENCH_LANGS, BENCH_DIM. Python: SIGLIP_PYTHON, tools/reference/.venv, or
 * python3 on PATH, with numpy (skipped with a note otherwise).
 * Run: npm run bench -w @siglip-edge/metrics
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeNpy } from "@siglip-edge/core";
import { summarizeRanks } from "../src/index.ts";
import { readDense, readInt32, writePlant } from "./plant-files.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "../../..");
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const I = env("BENCH_IMAGES", 3600);
const C = env("BENCH_CAPTIONS", 2);
const L = env("BENCH_LANGS", 36);
const D = env("BENCH_DIM", 768);
const REPEATS = env("BENCH_REPEATS", 3);
const JS_LANGS = Math.min(L, env("BENCH_JS_LANGS", 1));
/** BENCHMARKS.md `## metrics` before the streamed kernel (2026-11-29): 3,600 x 36, D = 768, scalar JS, load 9-10. */
const BEFORE_SECONDS = 1498;

interface Stage {
  seconds: { retrieval: number; bootstrap?: number; total?: number };
  peakRssMiB: number;
  exact: boolean;
  hits: { language: string; t2i: number[]; i2t: number[] }[];
  kernel?: string;
  numpy?: string;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

function run(cmd: string, args: string[]): Stage & { load: string } {
  const before = load();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as Stage), load: `${before} -> ${load()}` };
}

function findPython(): string | undefined {
  const candidates = [process.env["SIGLIP_PYTHON"], join(REPO, "tools/reference/.venv/bin/python"), "python3"];
  for (const py of candidates) {
    if (py === undefined || (py.includes("/") && !existsSync(py))) continue;
    if (spawnSync(py, ["-c", "import numpy"], { encoding: "utf8" }).status === 0) return py;
  }
  return undefined;
}

const dir = mkdtempSync(join(tmpdir(), "metrics-bench-"));
try {
  const t0 = performance.now();
  const meta = writePlant(dir, I, C, D, L);
  process.stderr.write(`planted ${L} languages x ${I * C} captions x ${I} images (D = ${D}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const py = findPython();
  const stage = join(HERE, "metrics-stage.ts");
  const ours: ReturnType<typeof run>[] = [];
  const numpy: ReturnType<typeof run>[] = [];
  for (let rep = 0; rep < REPEATS; rep++) {
    ours.push(run(process.execPath, [stage, dir, "ort"]));
    process.stderr.write(`repeat ${rep + 1}: ours ${ours.at(-1)?.seconds.total?.toFixed(2)} s`);
    if (py !== undefined) {
      numpy.push(run(py, [join(REPO, "tools/reference/metrics_bench.py"), dir]));
      process.stderr.write(`, numpy ${numpy.at(-1)?.seconds.retrieval.toFixed(2)} s`);
    }
    process.stderr.write(` (load ${load()})\n`);
  }
  const js = run(process.execPath, [stage, dir, "js", String(JS_LANGS)]);
  // `siglip audit retrieval` on one language, as a user runs it.
  const lang = meta.languages[0] ?? "l00";
  const owner = readInt32(join(dir, "owner.npy"));
  writeFileSync(join(dir, "cli-images.npy"), encodeNpy(readDense(join(dir, "images"), D)));
  writeFileSync(join(dir, "cli-texts.npy"), encodeNpy(readDense(join(dir, lang, "texts"), D)));
  writeFileSync(join(dir, "cli-pairs.json"), JSON.stringify({ owner: Array.from(owner) }));
  const cliBefore = load();
  const c0 = performance.now();
  const cli = spawnSync(process.execPath, [join(REPO, "apps/cli/bin/siglip.js"), "audit", "retrieval", "--images", join(dir, "cli-images.npy"), "--texts", join(dir, "cli-texts.npy"), "--pairs", join(dir, "cli-pairs.json")], { encoding: "utf8", maxBuffer: 1 << 24 });
  const cliSeconds = (performance.now() - c0) / 1000;
  if (cli.status !== 0) throw new Error(`siglip audit retrieval failed: ${cli.stderr}`);
  const cliOut = JSON.parse(cli.stdout) as Record<"textToImage" | "imageToText", Record<string, unknown>>;
  const strip = ({ recallCi: _r, mrrCi: _m, ...rest }: Record<string, unknown>) => JSON.stringify(rest);
  const cliExact =
    strip(cliOut.textToImage) === JSON.stringify(summarizeRanks(readInt32(join(dir, lang, "expected.t2i.npy")), I)) &&
    strip(cliOut.imageToText) === JSON.stringify(summarizeRanks(readInt32(join(dir, lang, "expected.i2t.npy")), I * C));
  const best = (xs: ReturnType<typeof run>[], f: (s: Stage) => number) => Math.min(...xs.map(f));
  const median = (xs: ReturnType<typeof run>[], f: (s: Stage) => number) => {
    const v = xs.map(f).sort((a, b) => a - b);
    return v[Math.floor((v.length - 1) / 2)] as number;
  };
  const sameHits = numpy.every((n) => JSON.stringify(n.hits.map((h) => [h.t2i, h.i2t])) === JSON.stringify(ours[0]?.hits.map((h) => [h.t2i, h.i2t])));
  const oursRetrieval = median(ours, (s) => s.seconds.retrieval);
  const oursTotal = median(ours, (s) => s.seconds.total ?? Number.NaN);
  const numpyRetrieval = numpy.length > 0 ? median(numpy, (s) => s.seconds.retrieval) : Number.NaN;
  const jsPerLanguage = js.seconds.retrieval / JS_LANGS;
  const r2 = (x: number) => +x.toFixed(2);
  console.log(
    JSON.stringify(
      {
        shape: { images: I, captionsPerLanguage: I * C, languages: L, dim: D, gmacPerLanguage: r2((I * I * C * D) / 1e9) },
        plant: meta.plant,
        repeats: REPEATS,
        ours: {
          kernel: ours[0]?.kernel,
          retrievalSeconds: { median: r2(oursRetrieval), best: r2(best(ours, (s) => s.seconds.retrieval)) },
          bootstrapSeconds: { median: r2(median(ours, (s) => s.seconds.bootstrap ?? Number.NaN)) },
          totalSeconds: { median: r2(oursTotal), best: r2(best(ours, (s) => s.seconds.total ?? Number.NaN)) },
          peakRssMiB: Math.round(Math.max(...ours.map((s) => s.peakRssMiB))),
          exact: ours.every((s) => s.exact),
        },
        numpy:
          py === undefined
            ? "skipped: no Python with numpy (set SIGLIP_PYTHON, create tools/reference/.venv, or put python3 with numpy on PATH)"
            : {
                python: py,
                numpy: numpy[0]?.numpy,
                retrievalSeconds: { median: r2(numpyRetrieval), best: r2(best(numpy, (s) => s.seconds.retrieval)) },
                peakRssMiB: Math.round(Math.max(...numpy.map((s) => s.peakRssMiB))),
                exact: numpy.every((s) => s.exact),
                sameHitCountsAsOurs: sameHits,
              },
        ratios: {
          oursRetrievalOverNumpy: r2(oursRetrieval / numpyRetrieval),
          oursTotalWithBootstrapOverNumpy: r2(oursTotal / numpyRetrieval),
          speedupOverBefore: `${r2(BEFORE_SECONDS / oursTotal)}x (${BEFORE_SECONDS} s measured 2026-11-29 at load 9-10)`,
        },
        cliOneLanguage: { command: "siglip audit retrieval --images I.npy --texts T.npy --pairs P.json (1,000 resamples)", wallSeconds: r2(cliSeconds), exact: cliExact, load: `${cliBefore} -> ${load()}` },
        jsKernel: {
          kernel: js.kernel,
          languages: JS_LANGS,
          secondsPerLanguage: r2(jsPerLanguage),
          extrapolatedRetrievalSeconds: r2(jsPerLanguage * L),
          exact: js.exact,
          ortSpeedup: r2((jsPerLanguage * L) / oursRetrieval),
        },
        runs: { ours: ours.map((s) => ({ s: s.seconds, rss: Math.round(s.peakRssMiB), load: s.load })), numpy: numpy.map((s) => ({ s: s.seconds, rss: Math.round(s.peakRssMiB), load: s.load })), js: { s: js.seconds, load: js.load } },
        machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
      },
      null,
      1,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
