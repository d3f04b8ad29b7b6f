/**
 * The one way to open a bundle: `openModel` reads the manifest, sets up the tokenizer (SGTK preferred: compact and
 * fast to load at the edge) and FixRes / NaFlex preprocessing from packages/preprocess, and builds the towers where
 * they run (`engineTowers(engine)` in this process, `kserveTowers(...)` on a KServe v2 backend, the tower Workers'
 * client in apps/edge-api). Used by the CLI (embed, classify, audit, serve), the Node server, the Worker, its tower
 * roles, the API Worker of a split deployment and the KServe path.
 * @module
 */
import { fileDigest, SiglipError, type BundleManifest } from "@siglip-edge/core";
import { Tokenizer } from "@siglip-edge/tokenizer";
import type { BundleSource } from "./bundle-source.ts";
import { readManifest, verifiedRead } from "./bundle-source.ts";
import { ModelPipeline, type ModelPipelineOptions } from "./model-pipeline.ts";
import type { Towers, TowersFactory } from "./towers.ts";

/** Compact tokenizer written next to a bundle by `prepare` scripts when the manifest lists none. */
export const SGTK_FILE = "tokenizer.sgtk";

/**
 * The bundle's tokenizer: `tokenizer.sgtk` when present (compiled from the bundle's tokenizer by `npm start` or the
 * deploy steps; a 17 MB `tokenizer.json` is too slow and too large to parse in a 128 MB isolate), else the
 * manifest's `text.tokenizer` (size and sha256 verified).
 */
export async function loadBundleTokenizer(source: BundleSource, manifest: BundleManifest): Promise<Tokenizer> {
  try {
    return Tokenizer.fromBytes(await source.read(SGTK_FILE));
  } catch (cause) {
    if ((cause as { code?: string }).code !== "NOT_FOUND") throw cause;
  }
  const listed = manifest.text.tokenizer;
  if (listed === null) {
    throw new SiglipError("MODEL_LOAD_FAILED", `${source.location}: the manifest lists no tokenizer and there is no ${SGTK_FILE}`);
  }
  return Tokenizer.fromBytes(await verifiedRead(source, listed, fileDigest(manifest, listed)));
}

/**
 * The bundle's tokenizer, loaded on first use (14 MB for Gemma 256k: on the first text request, not when the model is
 * listed) and retried after a failed load; `override` (tests, bundles without one, the CLI's cached loader) is used
 * instead, also on first use.
 */
export function lazyBundleTokenizer(source: BundleSource, manifest: BundleManifest, override?: Tokenizer | (() => Promise<Tokenizer>)): () => Promise<Tokenizer> {
  let tokenizer: Promise<Tokenizer> | undefined = override instanceof Tokenizer ? Promise.resolve(override) : undefined;
  return () => {
    tokenizer ??= typeof override === "function" ? override() : loadBundleTokenizer(source, manifest);
    tokenizer.catch(() => (tokenizer = undefined));
    return tokenizer;
  };
}

export interface OpenModelOptions<T extends Towers> extends Omit<ModelPipelineOptions<T>, "manifest" | "source" | "towers" | "tokenizer"> {
  source: BundleSource;
  /** Where the towers run: `engineTowers(engine, options)`, `kserveTowers(options)`, or the tower Workers' client. */
  towers: TowersFactory<T>;
  /** Override the bundle's tokenizer (tests, a bundle without one), or a loader called on first use. */
  tokenizer?: Tokenizer | (() => Promise<Tokenizer>);
  /** Use this manifest instead of the source's (tests of what a mismatching bundle does). */
  manifest?: BundleManifest;
}

/** Opens a bundle: reads its manifest (weights load on first inference) and builds the pipeline over its towers. */
export async function openModel<T extends Towers>(o: OpenModelOptions<T>): Promise<ModelPipeline<T>> {
  const { source, towers, tokenizer, manifest: given, ...rest } = o;
  const manifest = given ?? (await readManifest(source));
  return new ModelPipeline({
    ...rest,
    manifest,
    source,
    towers: await towers({ manifest, source, id: o.id ?? manifest.checkpoint.id }),
    tokenizer: lazyBundleTokenizer(source, manifest, tokenizer),
  });
}
