/** Models for `siglip serve`: bundle directories run by onnxruntime-node (or onnxruntime-web in Node, for parity). */
import { basename, resolve } from "node:path";
import { engineTowers, lazyProvider, openModel, type InferenceEngine, type ModelProvider } from "@siglip-edge/runtime";
import { createNodeEngine, createWebEngineForNode, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import type { Tokenizer } from "@siglip-edge/tokenizer";

export interface LocalModel {
  /** Bundle directory (with manifest.json). */
  dir: string;
  /** Served id; default the manifest's checkpoint id. */
  id?: string;
  foldTokenIds?: boolean;
  tokenizer?: Tokenizer;
}

export interface LocalProviderOptions {
  engine?: "onnxruntime-node" | "onnxruntime-web";
  threads?: number;
}

/** The default id of a bundle directory: its folder name (the manifest id is used when the folder is generic). */
export function defaultModelId(dir: string): string {
  return basename(resolve(dir));
}

export function localModelProvider(models: readonly LocalModel[], options: LocalProviderOptions = {}): ModelProvider {
  const engineName = options.engine ?? "onnxruntime-node";
  const engine = (): Promise<InferenceEngine> => (engineName === "onnxruntime-node" ? Promise.resolve(createNodeEngine()) : createWebEngineForNode());
  const runsOn = engineName === "onnxruntime-node" ? `node: onnxruntime-node (native CPU, ${options.threads ?? 1} thread(s))` : "node: onnxruntime-web (wasm, 1 thread)";
  return lazyProvider(
    models.map((m) => ({
      id: m.id ?? defaultModelId(m.dir),
      open: async () =>
        openModel({
          source: fsBundleSource(m.dir),
          towers: engineTowers(await engine(), options.threads ? { threads: options.threads } : {}),
          runsOn,
          initDecoders: initNodeDecoders,
          id: m.id ?? defaultModelId(m.dir),
          ...(m.foldTokenIds ? { foldTokenIds: true } : {}),
          ...(m.tokenizer ? { tokenizer: m.tokenizer } : {}),
        }),
    })),
  );
}
