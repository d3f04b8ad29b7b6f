/**
 * The comparison point for the edge benchmark: transformers.js 4.3.2 on its WASM backend (onnxruntime-web, one
 * thread), in Node, on the same B/16 random weights (its own folder layout, written by packages/export's
 * `exportTransformersJs`). transformers.js in Node refuses `device: "wasm"`, so onnxruntime-web is registered as its
 * runtime through `globalThis[Symbol.for("onnxruntime")]` (edge-runtime §11). Inputs are the same pixel values and
 * token ids our pipeline feeds (preprocessing and tokenizing are not timed here).
 *
 * Usage: node packages/runtime/bench/transformers-js.ts TJS_DIR DTYPE   (DTYPE: int8 | q4 | fp32; prints JSON)
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { onnxruntimeWeb as ortWeb } from "../src/node/web-engine.ts";
import { preprocessFixRes } from "@siglip-edge/preprocess";
import { initNodeDecoders } from "@siglip-edge/preprocess/node";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";

const [dir, dtype = "int8"] = process.argv.slice(2);
if (dir === undefined) throw new Error("usage: transformers-js.ts TJS_DIR [DTYPE]");
const RUNS = Number(process.env["RUNS"] ?? 10);
const require = createRequire(import.meta.url);
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;
ortWeb.env.wasm.wasmBinary = readFileSync(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
// onnxruntime-web in Node cannot open file paths ("Failed to parse URL"): read graphs and external data into bytes.
const readIfPath = (x: unknown): unknown => (typeof x === "string" && !/^[a-z]+:/.test(x) ? new Uint8Array(readFileSync(x)) : x);
const create = async (model: unknown, options?: Record<string, unknown>) => {
  let ext = options?.["externalData"] as { path: string; data: unknown }[] | undefined;
  // transformers.js layout: weights in `<graph>.onnx_data` next to the graph.
  if (ext === undefined && typeof model === "string" && existsSync(`${model}_data`)) ext = [{ path: `${basename(model)}_data`, data: `${model}_data` }];
  const opts = ext ? { ...options, externalData: ext.map((e) => ({ path: basename(e.path), data: readIfPath(e.data) })) } : options;
  return ortWeb.InferenceSession.create(readIfPath(model) as Uint8Array, opts as ortWeb.InferenceSession.SessionOptions);
};
(globalThis as Record<symbol, unknown>)[Symbol.for("onnxruntime")] = { ...ortWeb, InferenceSession: { ...ortWeb.InferenceSession, create } };
const tjs = await import("@huggingface/transformers");
tjs.env.allowRemoteModels = false;
tjs.env.allowLocalModels = true;
tjs.env.localModelPath = dirname(dir);
// transformers.js points ORT at a CDN for the wasm glue; this machine is offline: use the local files.
const onnxEnv = (tjs.env.backends as { onnx: { wasm: Record<string, unknown> } }).onnx.wasm;
onnxEnv["wasmPaths"] = pathToFileURL(dirname(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm")) + "/").href;
onnxEnv["wasmBinary"] = ortWeb.env.wasm.wasmBinary;
(tjs.env as { useWasmCache?: boolean }).useWasmCache = false;
const opts = { dtype: dtype as "int8", device: "auto" as const, session_options: { executionProviders: ["wasm"] } };

await initNodeDecoders();
const image = readFileSync(require.resolve("../../../fixtures/photos/skimage/chelsea.png"));
const SIZE = Number(process.env["SIZE"] ?? 224);
const pv = await preprocessFixRes(new Uint8Array(image), { size: SIZE });
const tok = await loadTokenizer(devTokenizerJsonPath());
const fold = Number(process.env["FOLD_ROWS"] ?? 0); // tiny fixtures only: table rows < vocabulary
const ids = BigInt64Array.from(tok.encode("a photo of two cats sleeping on a red sofa"), (x) => BigInt(fold > 0 ? x % fold : x));

const wasmMiB = () => {
  const mem = (ortWeb.env.wasm as { memory?: { buffer: ArrayBuffer } }).memory;
  return mem ? mem.buffer.byteLength / 2 ** 20 : undefined;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

async function measure(load: () => Promise<(x: unknown) => Promise<Record<string, { data: Float32Array }>>>, input: () => unknown) {
  const t0 = performance.now();
  const model = await load();
  const first = await model(input());
  const coldMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await model(input());
    times.push(performance.now() - t);
  }
  return { coldMs, p50: pct(times, 50), p95: pct(times, 95), vector: Array.from(first["pooler_output"]?.data ?? []) };
}

const text = await measure(
  async () => {
    const m = await tjs.SiglipTextModel.from_pretrained(basename(dir), opts);
    return (x) => m(x as Record<string, unknown>) as Promise<Record<string, { data: Float32Array }>>;
  },
  () => ({ input_ids: new tjs.Tensor("int64", ids, [1, 64]) }),
);
const vision = await measure(
  async () => {
    const m = await tjs.SiglipVisionModel.from_pretrained(basename(dir), opts);
    return (x) => m(x as Record<string, unknown>) as Promise<Record<string, { data: Float32Array }>>;
  },
  () => ({ pixel_values: new tjs.Tensor("float32", pv.data as Float32Array, [1, 3, SIZE, SIZE]) }),
);
console.log(JSON.stringify({ runtime: "transformers.js 4.3.2 + onnxruntime-web (wasm, 1 thread)", dtype, text, vision, wasmMiB: wasmMiB() ?? null }));
