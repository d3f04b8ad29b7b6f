/**
 * One tower in onnxruntime-web 1.30 (WASM, 1 thread, in Node), in a process of its own so that "cold" is a fresh
 * isolate with fresh WASM memory: graph (+ external data) bytes read first (not timed), then session creation + the
 * first run (cold), then `runs` warm runs of the tower call alone. Used by peer-q8.ts; prints one JSON line.
 *
 * Two ways to run a graph:
 * - `ort-web`: onnxruntime-web as transformers.js users run it (its `createInferenceSession`: `executionProviders:
 *   ["wasm"]` plus a log level, everything else at onnxruntime-web's defaults: optimisation "all", prepacking on, no
 *   CPU arena, no memory pattern). For the peer's own graphs.
 * - `runtime`: packages/runtime's onnxruntime-web engine with the options our edge pipeline passes (BundlePipeline:
 *   prepacking off, one thread). For our bundles.
 * - `kernels`: packages/runtime's kernels engine (W8A12 WebAssembly kernels) on an int8 bundle's kernels files:
 *   `graph` is the bundle folder's graph file, its weights read by byte range from `kernels.bin` files (cold:
 *   session creation = ranged reads + sha256 + copies into WASM memory, then the first run).
 *
 * Usage: node packages/runtime/bench/peer-q8-tower.ts SPEC_JSON   (see TowerSpec; peer-q8.ts imports its types only)
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { onnxruntimeWeb as ort } from "../src/node/web-engine.ts";
import { decodeNpy, encodeNpy, tensor, type Tensor } from "@siglip-edge/core";
import { createKernelsEngineForNode, createWebEngineForNode, fsBundleSource } from "@siglip-edge/runtime/node";
import { readManifest } from "@siglip-edge/runtime";

export interface TowerSpec {
  engine: "ort-web" | "runtime" | "kernels";
  /** The .onnx file. */
  graph: string;
  /** External data: the `location` the graph names, and the file holding it. */
  externalData?: { path: string; file: string }[];
  /** Input name -> .npy file. */
  feeds: Record<string, string>;
  /** The output to fetch; written to `outputFile` as .npy. */
  output: string;
  outputFile: string;
  runs: number;
}

export interface TowerTiming {
  createMs: number;
  firstRunMs: number;
  /** Session creation + first run, from bytes in memory. */
  coldMs: number;
  warmMs: number[];
  medianMs: number;
  /** VmHWM of this process (includes the WASM memory). */
  peakRssMiB: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

type Run = () => Promise<Tensor>;

const WARMUP_GRAPH = join(import.meta.dirname, "..", "..", "..", "fixtures", "engine-graphs", "affine-softmax.onnx");

async function ortWebSession(spec: TowerSpec, graph: Uint8Array, ext: { path: string; data: Uint8Array }[], feeds: Record<string, Tensor>): Promise<{ createMs: number; run: Run }> {
  const require = createRequire(import.meta.url);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = readFileSync(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype as "float32", t.data as Float32Array, [...t.dims]);
  // Instantiate the WASM runtime on a 400-byte graph before the clock, as the runtime engine compiles its module
  // before it (a Worker gets it precompiled): cold then means session creation + first run for both.
  await (await ort.InferenceSession.create(new Uint8Array(readFileSync(WARMUP_GRAPH)), { executionProviders: ["wasm"] })).release();
  const t0 = performance.now();
  // transformers.js 4.3.2 src/backends/onnx.js createInferenceSession + models/session.js: these options only.
  const session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"], logSeverityLevel: 2, ...(ext.length > 0 ? { externalData: ext } : {}) });
  const createMs = performance.now() - t0;
  const run: Run = async () => {
    const out = (await session.run(ortFeeds, [spec.output]))[spec.output] as ort.Tensor;
    const t = tensor("float32", [...out.dims], Float32Array.from(out.data as Float32Array));
    out.dispose();
    return t;
  };
  return { createMs, run };
}

async function runtimeSession(spec: TowerSpec, graph: Uint8Array, ext: { path: string; data: Uint8Array }[], feeds: Record<string, Tensor>): Promise<{ createMs: number; run: Run }> {
  const engine = await createWebEngineForNode(); // compiles the .wasm: before the clock starts, as a Worker's import does
  const t0 = performance.now();
  const session = await engine.createSession({ kind: "bytes", graph, externalData: ext }, { disablePrepacking: true, threads: 1 });
  const createMs = performance.now() - t0;
  return { createMs, run: async () => (await session.run(feeds, [spec.output]))[spec.output] as Tensor };
}

async function kernelsSession(spec: TowerSpec, feeds: Record<string, Tensor>): Promise<{ createMs: number; run: Run }> {
  const engine = await createKernelsEngineForNode(); // compiles kernels.wasm: before the clock, as a Worker's import does
  const source = fsBundleSource(dirname(spec.graph));
  const manifest = await readManifest(source);
  const graph = basename(spec.graph);
  const t0 = performance.now();
  const session = await engine.createSession({ kind: "bundle", source, manifest, graph, data: `${graph}.data` });
  const createMs = performance.now() - t0;
  return { createMs, run: async () => (await session.run(feeds, [spec.output]))[spec.output] as Tensor };
}

async function timeTower(spec: TowerSpec): Promise<TowerTiming> {
  const kernels = spec.engine === "kernels";
  const graph = kernels ? new Uint8Array(0) : new Uint8Array(readFileSync(spec.graph));
  // the kernels engine reads its own kernels files by range: the ONNX external data is not read for it
  const ext = kernels ? [] : (spec.externalData ?? []).map((e) => ({ path: e.path, data: new Uint8Array(readFileSync(e.file)) }));
  const feeds: Record<string, Tensor> = {};
  for (const [name, file] of Object.entries(spec.feeds)) feeds[name] = decodeNpy(new Uint8Array(readFileSync(file)));
  const t0 = performance.now();
  const { createMs, run } = kernels ? await kernelsSession(spec, feeds) : await (spec.engine === "ort-web" ? ortWebSession : runtimeSession)(spec, graph, ext, feeds);
  const t1 = performance.now();
  const first = await run();
  const firstRunMs = performance.now() - t1;
  const coldMs = performance.now() - t0;
  writeFileSync(spec.outputFile, encodeNpy(first));
  const warmMs: number[] = [];
  for (let i = 0; i < spec.runs; i++) {
    const t = performance.now();
    await run();
    warmMs.push(performance.now() - t);
  }
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return { createMs, firstRunMs, coldMs, warmMs, medianMs: median(warmMs), peakRssMiB: Number(hwm ?? 0) / 1024 };
}

const arg = process.argv[2];
if (arg === undefined) throw new Error("usage: peer-q8-tower.ts SPEC_JSON");
console.log(JSON.stringify(await timeTower(JSON.parse(arg) as TowerSpec)));
