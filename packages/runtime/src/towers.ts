/**
 * Where a bundle's two towers run, behind one interface: `ModelPipeline` (model-pipeline.ts) tokenizes, preprocesses,
 * checks ids and cuts batches; `Towers` only run one batch of model inputs to raw `pooler_output`. Implementations:
 * - `EngineTowers` (engine-towers.ts): the bundle's graphs on an `InferenceEngine` in this process (onnxruntime-node,
 *   onnxruntime-web in Node or workerd; later an engine running packed weights, see engine.ts `ModelInBundle`);
 * - `KServeTowers` (kserve/remote-towers.ts): the towers on a KServe v2 / Triton backend;
 * - the tower Workers' client in apps/edge-api (tower-protocol.ts): the towers in other Workers.
 * A bundle is opened with `openModel({ source, towers: engineTowers(engine) | kserveTowers(...) | ... })`.
 * @module
 */
import { SiglipError, type BundleManifest, type Tensor } from "@siglip-edge/core";
import type { BundleSource } from "./bundle-source.ts";
import type { SizedImage } from "./pipeline.ts";

/**
 * Largest batch per tower call at the edge (bounds a tower's activations in a 128 MB isolate): the local engine's
 * default, and what the API Worker sends each tower Worker per call.
 */
export const EDGE_BATCH: Readonly<{ text: number; image: number }> = { text: 16, image: 4 };

/** What towers are made from: the bundle (manifest and files) and the id the model is served under. */
export interface TowerContext {
  manifest: BundleManifest;
  source: BundleSource;
  id: string;
}

export interface Towers {
  /** Where they run, for `/v1/models` (e.g. `backend: KServe v2 at gpu (siglip2-large)`). */
  readonly runsOn: string;
  /** The KServe backend that runs them (`x-siglip-backend: backend:<name>`); absent at the edge. */
  readonly backend?: string;
  /** Largest batch per call; `ModelPipeline` cuts requests into batches of this size. */
  readonly batch: Readonly<{ text: number; image: number }>;
  /**
   * One batch of token id rows, already checked against the bundle's table.
   * @param ids [T] int32 each
   * @returns [B, D] float32 raw pooler_output
   */
  text(ids: readonly Int32Array[]): Promise<Tensor<"float32">>;
  /**
   * One batch of FixRes images, decoded and resized to the model's S x S (`preprocessFixResRgb`).
   * @returns [B, D] float32 raw pooler_output
   */
  fixres(images: readonly SizedImage[]): Promise<Tensor<"float32">>;
  /**
   * One batch of NaFlex images, each resized to its NaFlex grid for `maxNumPatches` (`preprocessNaFlexRgb`): the
   * towers cut the patches, pad them to `maxNumPatches` rows and add the position embeddings resized per image.
   * @returns [B, D] float32 raw pooler_output
   */
  naflex(images: readonly SizedImage[], maxNumPatches: number): Promise<Tensor<"float32">>;
  /** Frees what the towers hold (engine sessions); later calls load again. */
  close?(): Promise<void>;
}

/** Builds towers once the bundle's manifest is read (`openModel` calls it). */
export type TowersFactory<T extends Towers = Towers> = (bundle: TowerContext) => T | Promise<T>;

/** A NaFlex image's patch grid: (h, w) patches, `spatial_shapes` in Hugging Face's names. */
export type PatchGrid = readonly [number, number];

/** The patch grid of a NaFlex-sized image, checked (multiples of P, at most N patches). */
export function patchGridOf(img: SizedImage, P: number, N: number): PatchGrid {
  const h = img.height / P;
  const w = img.width / P;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || h * w > N || img.channels !== 3 || img.data.length !== img.width * img.height * 3) {
    throw new SiglipError("INVALID_ARGUMENT", `a NaFlex image must be [h·${P}, w·${P}, 3] uint8 with h·w <= ${N} patches, got ${img.width}x${img.height}x${img.channels} (${img.data.length} bytes)`);
  }
  return [h, w];
}

/** The key mask of a NaFlex batch: row b has ones for its first h·w patches of N. @returns [B, N] int64 */
export function patchMask(grids: readonly PatchGrid[], N: number): BigInt64Array {
  const mask = new BigInt64Array(grids.length * N);
  grids.forEach(([h, w], b) => mask.fill(1n, b * N, b * N + h * w));
  return mask;
}

/** The towers a bundle can split into stages (manifest `stages` keys). */
export type StagedTower = "vision" | "textSplit";

/**
 * What one stage returns: hidden states for the next stage, or, from the last stage, the raw embeddings [B, D].
 * Hidden states may sit in a buffer the towers reuse: call `release` once they have been sent (after that they may
 * be overwritten by the next run).
 */
export type StageOutput = { kind: "hidden"; hidden: Tensor<"float32">; release?: () => void } | { kind: "embeddings"; embeddings: Tensor<"float32"> };

/** Towers that run one stage of a staged deployment (a bundle converted with `--stages K`, one Worker per stage). */
export interface StagedTowers {
  /** The stage these towers run; undefined: whole towers. */
  readonly stage: number | undefined;
  /** Stage 0 of the text tower: checked token ids in. */
  tokenIdsToStage(ids: readonly Int32Array[]): Promise<StageOutput>;
  /** Stage 0 of the vision tower: sized images in (NaFlex: resized to their grids for `maxNumPatches`). */
  imagesToStage(images: readonly SizedImage[], maxNumPatches?: number): Promise<StageOutput>;
  /**
   * A later stage: the previous stage's hidden states [B, N, D] in; for a NaFlex vision tower also each image's patch
   * grid (h, w), from which the key mask (the first h * w of N patches) is rebuilt.
   */
  continueStage(tower: StagedTower, hidden: Tensor, patchGrid?: readonly PatchGrid[]): Promise<StageOutput>;
}

export function isStaged(t: Towers): t is Towers & StagedTowers {
  return typeof (t as Partial<StagedTowers>).continueStage === "function";
}
