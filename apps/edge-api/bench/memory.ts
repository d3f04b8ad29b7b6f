/**
 * Edge memory and latency benchmark (not part of npm test: B/16 bundles are 0.5-2.6 GB).
 *
 * For each quantised B/16-shaped random-weight bundle, each tower role runs in its own local workerd (`wrangler dev
 * --var ROLE:text|vision`), reading the bundle from local R2 (or HTTP, SOURCE=http). Per role it records the isolate's peak JS
 * heap (V8 `Runtime.getHeapUsage` through the inspector, sampled every 50 ms, used heap + ArrayBuffer backing
 * stores) and the WASM linear memory (`/internal/stats`; it never shrinks, so the last value is the peak), during the
 * cold start (first request: session creation and weight reads) and under 20 concurrent requests; the cold-start time;
 * warm p50/p95 for one text and one 224 px image; cosine to the fp32 bundle on onnxruntime-node. The same weights
 * then run in onnxruntime-node and, when its layout is present, transformers.js on onnxruntime-web (WASM), in the same
 * run.
 *
 * Usage: npm run bench -w @siglip-edge/edge-api
 *   env B16_DIR (default /tmp/siglip-b16, as packages/export's bench), B16_DTYPES (default "int8,q4"), RUNS (10),
 *   COMPARE=0 (workerd roles only). Missing bundles are converted from `$B16_DIR/<PRESET>` (generated from seed 0
 *   if missing); the transformers.js rows need `$B16_DIR/tjs-b16-<dtype>`, written by
 *   `node packages/runtime/bench/export-tjs.ts $B16_DIR/b16-fixres $B16_DIR/tjs-b16-int8 int8`.
 *   PRESET=b16-naflex: the NaFlex B/16 (images sent as the API Worker sends them: resized to their NaFlex grid for
 *   MAX_NUM_PATCHES, default 1024, the largest budget served; the vision role patches them and resizes the position
 *   embeddings); PRESET=tiny-naflex FOLD=1 (or tiny-fixres) is a smoke run of the same roles in seconds.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import { join } from "node:path";
import { cosine } from "@siglip-edge/core";
import { convertCheckpoint, generateCheckpoint, type WeightDType } from "@siglip-edge/export";
import { engineTowers, lazyProvider, openModel, type SiglipPipeline } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { preprocessFixResRgb, preprocessNaFlexRgb } from "@siglip-edge/preprocess";
import type { BundleManifest } from "@siglip-edge/core";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { WorkerTowers, type Fetcher } from "../src/tower-protocol.ts";

const APP = join(import.meta.dirname, "..");
const ROOT = join(APP, "..", "..");
const DIR = process.env["B16_DIR"] ?? "/tmp/siglip-b16";
const DTYPES = (process.env["B16_DTYPES"] ?? "int8,q4").split(",").filter((d) => d !== "");
const RUNS = Number(process.env["RUNS"] ?? 10);
const TEXT = "a photo of two cats sleeping on a red sofa";
const IMAGE = new Uint8Array(readFileSync(join(ROOT, "fixtures", "photos", "skimage", "chelsea.png")));
const MiB = 2 ** 20;
/** Smoke runs on the tiny fixture only (its table is smaller than the vocabulary). */
const FOLD = process.env["FOLD"] === "1";
/** COMPARE=0 skips the onnxruntime-node and transformers.js rows per dtype (workerd roles only). */
const COMPARE = process.env["COMPARE"] !== "0";
/**
 * ARENA=0 turns ORT's CPU memory arena off in the roles. ROLES picks what runs (default "text,vision,api"): each tower
 * alone, chained by this script, then (`api`, local R2 only) the whole deployment behind the API Worker.
 */
const ARENA = process.env["ARENA"] !== "0";
const ROLES = (process.env["ROLES"] ?? "text,vision,api").split(",");
/**
 * SOURCE=r2 (default): the bundle is put into wrangler's local R2 (`wrangler r2 object put --local`) and the roles
 * read it through the R2 binding, as in production. SOURCE=http: over HTTP from 127.0.0.1 (workerd's fetch bodies
 * leave every streamed chunk as ArrayBuffer garbage until V8 collects it: 100-130 MiB measured while streaming a
 * 62 MiB file, so this mode overstates cold-start memory).
 */
const SOURCE = process.env["SOURCE"] ?? "r2";
/** STAGES=K (default 2): each tower runs as K stage Workers (bundles converted with `stages: K`); 1 = whole towers. */
const STAGES = Number(process.env["STAGES"] ?? 2);
/** LIVE=1: force a full GC (inspector `HeapProfiler.collectGarbage`) before every memory sample. */
const LIVE = process.env["LIVE"] === "1";
/** LOG=/path/prefix keeps each wrangler dev's output in `<prefix>-<role>-<i>.log|.err`. */
const LOG = process.env["LOG"];
/** LOAD_REQUESTS=N: the load phase sends N requests, 20 at a time (default 20: one each). */
const LOAD_REQUESTS = Number(process.env["LOAD_REQUESTS"] ?? 20);
/** VERIFY=0 skips the roles' SHA-256 pass over the weights at cold start. */
const VERIFY = process.env["VERIFY"] !== "0";
/** PRESET: the checkpoint (packages/export presets): b16-fixres (default), b16-naflex, or tiny-* for smoke runs. */
const PRESET = process.env["PRESET"] ?? "b16-fixres";
const NAFLEX = PRESET.includes("naflex");
/** NaFlex: the patch budget of every image (default 1024, the largest allowed: the most activations per image). */
const MAX_NUM_PATCHES = Number(process.env["MAX_NUM_PATCHES"] ?? 1024);
/** How the bench's requests ask for images: NaFlex requests carry the budget. */
const IMAGE_OPTIONS = NAFLEX ? { maxNumPatches: MAX_NUM_PATCHES } : {};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function ensureBundle(dtype: string): Promise<string> {
  const ck = join(DIR, PRESET);
  // The fp32 bundle is the Node reference only; edge bundles carry STAGES stage graphs (whole towers too).
  const stages = dtype === "fp32" ? 1 : STAGES;
  const out = join(DIR, dtype === "fp32" ? `bundle-${PRESET}` : `bundle-${PRESET}-${dtype}${stages > 1 ? `-s${stages}` : ""}`);
  if (existsSync(join(out, "manifest.json"))) return out;
  if (!existsSync(join(ck, "config.json"))) await generateCheckpoint(ck, PRESET, { seed: 0 });
  console.error(`converting ${dtype} bundle (minutes)`);
  await convertCheckpoint(ck, out, { dtype: dtype as WeightDType, stages });
  return out;
}

/** Serves bundle directories under /<name>/ with byte ranges. */
async function fileServer(dirs: Record<string, string>): Promise<{ origin: string; close: () => void }> {
  const { open, stat } = await import("node:fs/promises");
  const server = createServer((req, res) => {
    void (async () => {
      const [, name, ...rest] = (req.url ?? "/").split("/");
      const dir = dirs[name ?? ""];
      const path = dir === undefined ? undefined : join(dir, ...rest);
      if (path === undefined || !existsSync(path)) return void res.writeHead(404).end();
      const size = (await stat(path)).size;
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      const [a, b] = m ? [Number(m[1]), Number(m[2])] : [0, size - 1];
      const fh = await open(path, "r");
      const buf = Buffer.alloc(b - a + 1);
      await fh.read(buf, 0, buf.length, a);
      await fh.close();
      res.writeHead(m ? 206 : 200, { "content-length": buf.length }).end(buf);
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return { origin: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`, close: () => server.close() };
}

/** A V8 inspector session on wrangler dev's inspector port. */
async function connect(url: string): Promise<WebSocket> {
  for (let i = 0; ; i++) {
    try {
      // wrangler's inspector proxy wants an Origin; Node's WebSocket (undici) takes headers as an extension.
      const Ctor = WebSocket as unknown as new (u: string, init: { headers: Record<string, string> }) => WebSocket;
      const ws = new Ctor(url, { headers: { Origin: "http://localhost" } });
      await new Promise((r, j) => (ws.addEventListener("open", r), ws.addEventListener("error", j)));
      return ws;
    } catch (err) {
      if (i > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

type Inspector = { heap: () => Promise<{ used: number; backing: number }>; close: () => void };

async function inspector(port: number): Promise<Inspector> {
  const ws = await connect(`ws://127.0.0.1:${port}/ws`);
  let id = 0;
  const pending = new Map<number, (v: Record<string, unknown>) => void>();
  ws.addEventListener("message", (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: Record<string, unknown> };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
  });
  const call = (method: string) => new Promise<Record<string, unknown>>((res) => {
    const my = ++id;
    pending.set(my, res);
    ws.send(JSON.stringify({ id: my, method }));
  });
  return {
    heap: async () => {
      // LIVE=1: a full GC before each sample, so the figures are live memory (what the isolate cannot give back)
      // rather than live + garbage V8 has not collected yet.
      if (LIVE) await call("HeapProfiler.collectGarbage");
      const r = (await call("Runtime.getHeapUsage")) as { usedSize?: number; backingStorageSize?: number };
      if (process.env["DEBUG_HEAP"]) console.error(port, JSON.stringify(r));
      return { used: r.usedSize ?? 0, backing: r.backingStorageSize ?? 0 };
    },
    close: () => ws.close(),
  };
}

async function waitFor(url: string, seconds: number): Promise<void> {
  for (let i = 0; i < seconds * 4; i++) {
    try {
      const r = await fetch(url, { method: "POST", body: "{}" });
      if (r.status > 0) return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${url} did not come up`);
}

interface RoleResult {
  role: string;
  coldMs: number;
  coldPeak: Peak;
  loadPeak: Peak;
  p50: number;
  p95: number;
  vector: Float32Array;
}

const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
/** The frozen Worker's config (each `wrangler dev` names its Worker with `--name`). */
const WORKER_TOML = ['name = "siglip-bench"', 'main = "worker.js"', 'compatibility_date = "2026-11-01"', "no_bundle = true", "[[rules]]", 'type = "CompiledWasm"', 'globs = ["**/*.wasm"]', "[[r2_buckets]]", 'binding = "MODELS"', 'bucket_name = "siglip-edge-models"'];

/**
 * Bundles the Worker once into a frozen folder: `wrangler dev` on the source tree would restart the isolate
 * whenever anyone edits a bundled file, mid-measurement.
 */
function buildWorker(): string {
  const out = join(tmpdir(), "siglip-bench-worker");
  execFileSync(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", out, "-c", join(APP, "wrangler.toml")], { cwd: APP, stdio: "ignore" });
  writeFileSync(join(out, "wrangler.toml"), [...WORKER_TOML, ""].join("\n"));
  return out;
}
const WORKER_DIR = buildWorker();

/**
 * Puts a bundle's files into wrangler's local R2 under `prefix` (once per bundle: a marker records the manifest).
 * @returns the persistence directory to start `wrangler dev` with
 */
function localR2(dir: string, prefix: string): string {
  const persist = join(tmpdir(), "siglip-bench-r2");
  const marker = join(persist, `${prefix.replace(/\W/g, "_")}.done`);
  const manifest = readFileSync(join(dir, "manifest.json"), "utf8");
  if (existsSync(marker) && readFileSync(marker, "utf8") === manifest) return persist;
  const files = ["manifest.json", "tokenizer.sgtk", ...(JSON.parse(manifest) as { files: { path: string }[] }).files.map((f) => f.path)];
  for (const f of files) {
    if (!existsSync(join(dir, f))) continue;
    console.error(`local R2: ${prefix}${f}`);
    execFileSync(process.execPath, [WRANGLER, "r2", "object", "put", `siglip-edge-models/${prefix}${f}`, "--file", join(dir, f), "--local", "--persist-to", persist], { cwd: WORKER_DIR, stdio: "ignore" });
  }
  writeFileSync(marker, manifest);
  return persist;
}

type Peak = { heap: number; backing: number; wasm: number };

/** Worker names of a tower's stage Workers, as the bench's API config binds them. */
const towerName = (role: "text" | "vision", k: number) => `siglip-bench-${role}${k === 0 ? "" : `-${k}`}`;

/**
 * One `wrangler dev` (its own workerd process and isolate) of the frozen Worker build, inspector on `port + 1000`.
 * Named Workers find each other's service bindings through wrangler's dev registry, as deployed Workers do by name.
 */
function devWorker(o: { name: string; port: number; vars: Record<string, string>; persist?: string; config?: string }): ChildProcess {
  const vars = Object.entries(o.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const log = (ext: string) => (LOG ? openSync(`${LOG}-${o.name}.${ext}`, "w") : "ignore");
  return spawn(
    process.execPath,
    [WRANGLER, "dev", ...(o.config ? ["-c", o.config] : []), "--name", o.name, "--port", String(o.port), "--inspector-port", String(o.port + 1000), ...vars, ...(o.persist ? ["--persist-to", o.persist] : [])],
    { cwd: WORKER_DIR, stdio: ["ignore", log("log"), log("err")] },
  );
}

/** Samples every inspector's heap every 50 ms while `fn` runs; returns `fn`'s result and each isolate's peaks. */
async function sampled<T>(insps: readonly Inspector[], fn: () => Promise<T>): Promise<{ out: T; peaks: { heap: number; backing: number }[] }> {
  const peaks = insps.map(() => ({ heap: 0, backing: 0 }));
  let done = false;
  const loops = insps.map(async (insp, i) => {
    const p = peaks[i] as { heap: number; backing: number };
    while (!done) {
      const h = await insp.heap();
      p.heap = Math.max(p.heap, h.used);
      p.backing = Math.max(p.backing, h.backing);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  try {
    return { out: await fn(), peaks };
  } finally {
    done = true;
    await Promise.all(loops);
  }
}

/** `n` calls of `once`, 20 in flight at a time. */
async function concurrently(n: number, once: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(20, n) }, async () => {
    while (next < n) await once(next++);
  }));
}

interface ApiResult {
  coldText: number;
  coldImage: number;
  coldPeak: Peak;
  loadPeak: Peak;
  text: number[];
  image: number[];
  rejected: number;
}

/**
 * The whole deployment in local workerd: the four stage Workers (two per tower) and the API Worker bound to them,
 * each in its own `wrangler dev`. Requests go to the public API (`POST /v1/embeddings`, the image as a data URI), so
 * the API isolate tokenizes and decodes as in production; its memory is sampled (JS heap, backing stores, decoder
 * WASM) cold and under load, and end-to-end latency is timed.
 */
async function runApi(bundle: { prefix: string; persist: string }, port: number, stages: number): Promise<ApiResult> {
  const bundles = JSON.stringify([{ id: "b16", prefix: bundle.prefix, ...(FOLD ? { foldTokenIds: true } : {}), ...(VERIFY ? {} : { verify: false }) }]);
  const towers = (["text", "vision"] as const).flatMap((role) => Array.from({ length: stages }, (_, k) => ({ role, k })));
  const binding = (role: "text" | "vision", k: number) => `${role.toUpperCase()}_TOWER${k === 0 ? "" : `_${k}`}`;
  const config = join(WORKER_DIR, "wrangler.api.toml");
  writeFileSync(config, [...WORKER_TOML, ...towers.flatMap((t) => ["[[services]]", `binding = "${binding(t.role, t.k)}"`, `service = "${towerName(t.role, t.k)}"`]), ""].join("\n"));
  const children = towers.map((t, i) => devWorker({ name: towerName(t.role, t.k), port: port + i, vars: { ROLE: t.role, ...(stages > 1 ? { STAGE: String(t.k) } : {}), MODEL_BUNDLES: bundles }, persist: bundle.persist }));
  const apiPort = port + towers.length;
  children.push(devWorker({ name: "siglip-bench-api", port: apiPort, vars: { ROLE: "api", MODEL_BUNDLES: bundles, MAX_QUEUED: "32", INTERNAL_STATS: "1" }, persist: bundle.persist, config }));
  try {
    for (let i = 0; i < towers.length; i++) await waitFor(`http://127.0.0.1:${port + i}/internal/stats`, 120);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(`${base}/healthz`, 120);
    const insp = await inspector(apiPort + 1000);
    const dataUri = `data:image/png;base64,${Buffer.from(IMAGE).toString("base64")}`;
    let rejected = 0;
    const post = async (kind: "text" | "image") => {
      const input = kind === "text" ? TEXT : [{ type: "image_url", image_url: { url: dataUri } }];
      const t = performance.now();
      const req = { model: "b16", input, ...(NAFLEX && kind === "image" ? { max_num_patches: MAX_NUM_PATCHES } : {}) };
      const r = await fetch(`${base}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(req) });
      const body = await r.text();
      if (r.status === 429) rejected++;
      else if (!r.ok) throw new Error(`API ${kind}: HTTP ${r.status} ${body.slice(0, 200)}`);
      return performance.now() - t;
    };
    const wasm = async () => ((await (await fetch(`${base}/internal/stats`)).json()) as { wasmBytes: number }).wasmBytes;
    const cold = await sampled([insp], async () => [await post("text"), await post("image")] as const);
    const coldPeak = { ...(cold.peaks[0] as { heap: number; backing: number }), wasm: await wasm() };
    const load = await sampled([insp], () => concurrently(LOAD_REQUESTS, (i) => post(i % 2 === 0 ? "text" : "image")));
    const loadPeak = { ...(load.peaks[0] as { heap: number; backing: number }), wasm: await wasm() };
    const text: number[] = [];
    const image: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      text.push(await post("text"));
      image.push(await post("image"));
    }
    insp.close();
    return { coldText: cold.out[0], coldImage: cold.out[1], coldPeak, loadPeak, text, image, rejected };
  } finally {
    for (const c of children) c.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * One tower in local workerd: a single role Worker, or (STAGES=K > 1) K stage Workers, each its own `wrangler dev`
 * and isolate, chained by this script as the API Worker chains them (stage 0 gets the input, each later stage the
 * previous stage's hidden states). Memory is sampled in every isolate at once; the result has one peak per stage.
 */
async function runRole(role: "text" | "vision", bundle: { url: string } | { prefix: string; persist: string }, port: number, stages: number, manifest: BundleManifest): Promise<RoleResult[]> {
  const where = "url" in bundle ? { url: bundle.url } : { prefix: bundle.prefix };
  const bundles = JSON.stringify([{ id: "b16", ...where, ...(FOLD ? { foldTokenIds: true } : {}), ...(ARENA ? {} : { memArena: false }), ...(VERIFY ? {} : { verify: false }) }]);
  const ks = stages > 1 ? Array.from({ length: stages }, (_, k) => k) : [undefined];
  const children: ChildProcess[] = ks.map((k, i) =>
    devWorker({ name: towerName(role, k ?? 0), port: port + i, vars: { ROLE: role, ...(k === undefined ? {} : { STAGE: String(k) }), MODEL_BUNDLES: bundles }, ...("persist" in bundle ? { persist: bundle.persist } : {}) }),
  );
  try {
    const bases = ks.map((_, i) => `http://127.0.0.1:${port + i}`);
    for (const b of bases) await waitFor(`${b}/internal/stats`, 120);
    const insps = await Promise.all(ks.map((_, i) => inspector(port + i + 1000)));
    // As in production, the API role tokenizes and decodes: the text role receives ids only and the vision role the
    // 224 x 224 uint8 image, through the tower protocol's own client (src/tower-protocol.ts), which chains the stages
    // as the API Worker does (stage 0 gets the input, each later stage the previous stage's hidden states).
    const ids = (await loadTokenizer(devTokenizerJsonPath())).encode(TEXT);
    const pp = manifest.preprocessing;
    const sized = pp.kind === "naflex" ? await preprocessNaFlexRgb(IMAGE, { patchSize: pp.patchSize, maxNumPatches: MAX_NUM_PATCHES }) : await preprocessFixResRgb(IMAGE, { size: pp.imageSize });
    const workers: Fetcher[] = bases.map((base) => ({
      fetch: async (req) => {
        const u = new URL(req.url);
        return fetch(`${base}${u.pathname}`, { method: req.method, headers: req.headers, body: await req.arrayBuffer() });
      },
    }));
    const towers = new WorkerTowers({ text: workers, vision: workers }, "b16", manifest.sizes.vision.patchSize);
    const once = async () => {
      const t = performance.now();
      // FOLD: the role folds (its MODEL_BUNDLES)
      const out = role === "text" ? await towers.text([ids]) : pp.kind === "naflex" ? await towers.naflex([sized], MAX_NUM_PATCHES) : await towers.fixres([sized]);
      return { ms: performance.now() - t, vector: out.data };
    };
    const wasm = async (i: number) => ((await (await fetch(`${bases[i]}/internal/stats`)).json()) as { wasmBytes: number }).wasmBytes;
    const sample = <T>(fn: () => Promise<T>) => sampled(insps, fn);
    const withWasm = async (peaks: { heap: number; backing: number }[]): Promise<Peak[]> => Promise.all(peaks.map(async (p, i) => ({ ...p, wasm: await wasm(i) })));
    const cold = await sample(once);
    const coldPeaks = await withWasm(cold.peaks);
    // 20 concurrent requests (LOAD_REQUESTS=N: N requests, 20 in flight at a time, to see garbage under sustained load).
    const load = await sample(() => concurrently(LOAD_REQUESTS, once));
    const loadPeaks = await withWasm(load.peaks);
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) warm.push((await once()).ms);
    for (const insp of insps) insp.close();
    return ks.map((k, i) => ({
      role: k === undefined ? role : `${role} stage ${k}`,
      coldMs: cold.out.ms,
      coldPeak: coldPeaks[i] as Peak,
      loadPeak: loadPeaks[i] as Peak,
      p50: pct(warm, 50),
      p95: pct(warm, 95),
      vector: cold.out.vector,
    }));
  } finally {
    for (const c of children) c.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function nodeRuns(dir: string, threads: number): Promise<{ textColdMs: number; imageColdMs: number; text: number[]; image: number[]; tv: Float32Array; iv: Float32Array }> {
  const tokenizer = await loadTokenizer(devTokenizerJsonPath());
  const provider = lazyProvider([{ id: "b16", open: () => openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine(), { threads, verify: false }), runsOn: "node", tokenizer, initDecoders: initNodeDecoders, foldTokenIds: FOLD }) }]);
  const m: SiglipPipeline = await provider.get("b16");
  let t = performance.now();
  const tv = (await m.embedTexts([TEXT])).embeddings[0] as Float32Array;
  const textColdMs = performance.now() - t;
  t = performance.now();
  const iv = (await m.embedImages([IMAGE], IMAGE_OPTIONS))[0] as Float32Array;
  const imageColdMs = performance.now() - t;
  const text: number[] = [];
  const image: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    await m.embedTexts([TEXT]);
    text.push(performance.now() - t);
    t = performance.now();
    await m.embedImages([IMAGE], IMAGE_OPTIONS);
    image.push(performance.now() - t);
  }
  return { textColdMs, imageColdMs, text, image, tv, iv };
}

const lines: string[] = [];
const log = (s: string) => {
  lines.push(s);
  console.log(s);
};
console.error(`fp32 reference on onnxruntime-node (${PRESET}, 1 thread)`);
log(`${PRESET}${NAFLEX ? `, images at max_num_patches ${MAX_NUM_PATCHES}` : ""}; uptime: ${execFileSync("uptime", { encoding: "utf8" }).trim()}`);
log("");
const fp32 = await nodeRuns(await ensureBundle("fp32"), 1);
log(`| runtime | weights | text cold / p50 / p95 | image cold / p50 / p95 | cos to fp32 text / image |`);
log(`|---|---|---|---|---|`);
log(`| onnxruntime-node 1.30 (1 thread) | fp32 | ${ms(fp32.textColdMs)} / ${ms(pct(fp32.text, 50))} / ${ms(pct(fp32.text, 95))} | ${ms(fp32.imageColdMs)} / ${ms(pct(fp32.image, 50))} / ${ms(pct(fp32.image, 95))} | 1 / 1 |`);
const memLines: string[] = [];
let port = Number(process.env["PORT"] ?? 8900); // PORT: first of the ports the wrangler devs take (two per Worker: HTTP and inspector + 1000)
for (const dtype of DTYPES) {
  const dir = await ensureBundle(dtype);
  // The Worker reads tokenizer.sgtk next to the bundle.
  if (!existsSync(join(dir, "tokenizer.sgtk"))) writeFileSync(join(dir, "tokenizer.sgtk"), (await loadTokenizer(devTokenizerJsonPath())).toBinary());
  const server = await fileServer({ b: dir });
  try {
    const node = COMPARE ? await nodeRuns(dir, 1) : undefined;
    if (node) log(`| onnxruntime-node 1.30 (1 thread) | ${dtype} | ${ms(node.textColdMs)} / ${ms(pct(node.text, 50))} / ${ms(pct(node.text, 95))} | ${ms(node.imageColdMs)} / ${ms(pct(node.image, 50))} / ${ms(pct(node.image, 95))} | ${cosine(node.tv, fp32.tv).toFixed(5)} / ${cosine(node.iv, fp32.iv).toFixed(5)} |`);
    const tjsDir = join(DIR, `tjs-b16-${dtype}`);
    if (COMPARE && existsSync(join(tjsDir, "config.json"))) {
      const out = execFileSync(process.execPath, [join(ROOT, "packages", "runtime", "bench", "transformers-js.ts"), tjsDir, dtype], { encoding: "utf8", env: { ...process.env, RUNS: String(RUNS) }, maxBuffer: 1 << 26 });
      const j = JSON.parse(out.trim().split("\n").pop() as string) as Record<"text" | "vision", { coldMs: number; p50: number; p95: number; vector: number[] }> & { wasmMiB: number | null };
      log(`| transformers.js 4.3.2 on onnxruntime-web WASM (1 thread, Node; model call only) | ${dtype} | ${ms(j.text.coldMs)} / ${ms(j.text.p50)} / ${ms(j.text.p95)} | ${ms(j.vision.coldMs)} / ${ms(j.vision.p50)} / ${ms(j.vision.p95)} | ${cosine(j.text.vector, fp32.tv).toFixed(5)} / ${cosine(j.vision.vector, fp32.iv).toFixed(5)} |`);
    } else if (COMPARE) {
      console.error(`no transformers.js export at ${tjsDir}: skipped (write it with packages/runtime/bench/export-tjs.ts)`);
    }
    const attempt = async (role: "text" | "vision") => {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as BundleManifest;
        const r = await runRole(role, SOURCE === "http" ? { url: `${server.origin}/b/` } : { prefix: `${PRESET}-${dtype}-s${STAGES}/`, persist: localR2(dir, `${PRESET}-${dtype}-s${STAGES}/`) }, port, STAGES, manifest);
        port += STAGES;
        return r;
      } catch (err) {
        log(`| workerd ${role} role | ${dtype} | failed: ${String(err).slice(0, 200)} | | |`);
        return undefined;
      }
    };
    const texts = ROLES.includes("text") ? await attempt("text") : undefined;
    const visions = ROLES.includes("vision") ? await attempt("vision") : undefined;
    const text = texts?.[0];
    const vision = visions?.[0];
    const cell = (r: RoleResult | undefined) => (r ? `${ms(r.coldMs)} / ${ms(r.p50)} / ${ms(r.p95)}` : "-");
    const cos = (r: RoleResult | undefined, ref: Float32Array) => (r ? cosine(r.vector, ref).toFixed(5) : "-");
    log(`| workerd, onnxruntime-web WASM (1 thread), roles text + vision${STAGES > 1 ? `, ${STAGES} stage Workers per tower` : ""}${ARENA ? "" : ", arena off"} | ${dtype} | ${cell(text)} | ${cell(vision)} | ${cos(text, fp32.tv)} / ${cos(vision, fp32.iv)} |`);
    const f = (p: Peak) => `${(p.heap / MiB).toFixed(1)} + ${(p.backing / MiB).toFixed(1)} + ${(p.wasm / MiB).toFixed(1)} = **${((p.heap + p.backing + p.wasm) / MiB).toFixed(1)} MiB**`;
    const memLine = (l: string) => {
      memLines.push(l);
      console.log(`memory ${l}`); // printed as it comes: a later failure must not lose it
    };
    for (const r of [...(texts ?? []), ...(visions ?? [])]) memLine(`| ${r.role} | ${dtype} | ${f(r.coldPeak)} | ${f(r.loadPeak)} |`);
    if (ROLES.includes("api") && SOURCE !== "http") {
      try {
        const a = await runApi({ prefix: `${PRESET}-${dtype}-s${STAGES}/`, persist: localR2(dir, `${PRESET}-${dtype}-s${STAGES}/`) }, port, STAGES);
        port += 2 * STAGES + 1;
        log(`| **workerd, whole deployment through the API** (\`POST /v1/embeddings\`: API Worker tokenizes / decodes, ${STAGES} stage Workers per tower) | ${dtype} | ${ms(a.coldText)} / ${ms(pct(a.text, 50))} / ${ms(pct(a.text, 95))} | ${ms(a.coldImage)} / ${ms(pct(a.image, 50))} / ${ms(pct(a.image, 95))} | as the rows above |`);
        memLine(`| API (tokenizer, image decoding; no model) | ${dtype} | ${f(a.coldPeak)} | ${f(a.loadPeak)}${a.rejected ? ` (${a.rejected} of ${LOAD_REQUESTS} answered 429)` : ""} |`);
      } catch (err) {
        log(`| workerd, whole deployment through the API | ${dtype} | failed: ${String(err).slice(0, 200)} | | |`);
      }
    }
  } finally {
    server.close();
  }
}
log("");
log(`Peak isolate memory per role (JS heap used + ArrayBuffer backing stores + WASM linear memory${LIVE ? ", live: full GC before each sample" : ""}):`);
log("");
log("| role | weights | cold start | 20 concurrent requests |");
log("|---|---|---|---|");
for (const l of memLines) log(l);
