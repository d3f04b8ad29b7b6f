/**
 * The one module of this package that imports onnxruntime (node: native CPU; web: wasm, also runnable in Node), so
 * it can move to packages/runtime later. Sessions take a model path; external data is resolved next to it.
 * @module
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import type * as OrtNode from "onnxruntime-node";

export type OrtBackend = "node" | "web";

export type Feed =
  | { dtype: "float32"; dims: readonly number[]; data: Float32Array }
  | { dtype: "int64"; dims: readonly number[]; data: BigInt64Array };

export interface OutputTensor {
  dims: number[];
  data: Float32Array;
}

export interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, Feed>): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

type OrtModule = typeof OrtNode;

async function load(backend: OrtBackend): Promise<OrtModule> {
  try {
    if (backend === "node") return (await import("onnxruntime-node")) as OrtModule;
    const web = (await import("onnxruntime-web")) as unknown as OrtModule;
    web.env.wasm.numThreads = 1; // no worker threads in Node tests; deterministic
    return web;
  } catch (e) {
    throw new SiglipError("BACKEND_UNAVAILABLE", `onnxruntime-${backend} cannot be loaded`, { cause: e });
  }
}

/** External data files referenced by a model, read for the web backend (which cannot open files itself). */
async function externalDataFor(modelPath: string, names: readonly string[]): Promise<{ path: string; data: Uint8Array }[]> {
  const dir = dirname(modelPath);
  return Promise.all(names.map(async (n) => ({ path: n, data: new Uint8Array(await readFile(join(dir, n))) })));
}

/**
 * Opens a model. `externalData` lists the data files (names relative to the model) the web backend must be handed.
 * `optimization: "disabled"` runs the graph's nodes as written (no fusions; tests comparing two graphs exactly).
 * Throws `MODEL_LOAD_FAILED` with the model path on any onnxruntime error.
 */
export async function createSession(
  modelPath: string,
  backend: OrtBackend,
  externalData: readonly string[] = [],
  optimization: "disabled" | "all" = "all",
): Promise<OrtSession> {
  const ort = await load(backend);
  let session: OrtNode.InferenceSession;
  try {
    if (backend === "node") {
      session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: optimization });
    } else {
      const bytes = new Uint8Array(await readFile(modelPath));
      session = await ort.InferenceSession.create(bytes, { externalData: await externalDataFor(modelPath, externalData), graphOptimizationLevel: optimization });
    }
  } catch (e) {
    throw new SiglipError("MODEL_LOAD_FAILED", `${basename(modelPath)}: ${(e as Error).message}`, { cause: e });
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds: Record<string, OrtNode.Tensor> = {};
      for (const [k, f] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(f.dtype, f.data, f.dims);
      let res: OrtNode.InferenceSession.OnnxValueMapType;
      try {
        res = await session.run(ortFeeds);
      } catch (e) {
        throw new SiglipError("INFERENCE_FAILED", `${basename(modelPath)}: ${(e as Error).message}`, { cause: e });
      }
      const out: Record<string, OutputTensor> = {};
      for (const [k, t] of Object.entries(res)) {
        out[k] = { dims: [...t.dims], data: new Float32Array(t.data as Float32Array) };
        t.dispose();
      }
      return out;
    },
    release: () => session.release(),
  };
}
