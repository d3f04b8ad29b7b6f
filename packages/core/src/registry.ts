/**
 * Every released SigLIP 2 checkpoint (big_vision README_siglip2.md; Hugging Face ids), with the tower shapes the
 * Hugging Face configs resolve to. FixRes checkpoints load as `model_type: "siglip"` (SigLIP 1 architecture, Gemma
 * tokenizer); NaFlex checkpoints as `model_type: "siglip2"`. Sources: ../../docs in siglip2-spec §1.
 * @module
 */
import { SiglipError } from "./errors.ts";

export type Family = "fixres" | "naflex";
export type Variant = "B" | "L" | "So400m" | "g-opt";
export type ModelType = "siglip" | "siglip2";

/** One transformer tower: width D, depth L, heads H, MLP width M. */
export interface TowerShape {
  readonly hiddenSize: number; // D
  readonly numLayers: number; // L
  readonly numHeads: number; // H
  readonly intermediateSize: number; // M
}

export interface TextTowerShape extends TowerShape {
  readonly vocabSize: number;
  /** Token positions; SigLIP 2 always tokenizes to exactly this many ids. */
  readonly maxPositions: number;
  /** Width of the text head output (`text_config.projection_size`); equals D except g-opt (1152 -> 1536). */
  readonly projectionSize: number;
}

export interface CheckpointInfo {
  readonly id: string;
  readonly family: Family;
  readonly modelType: ModelType;
  readonly variant: Variant;
  readonly patchSize: number;
  /** Square input side for FixRes; `null` for NaFlex (variable, bounded by `maxNumPatches`). */
  readonly imageSize: number | null;
  /** Rows of the learned position table: (imageSize / patch)^2 for FixRes (floor), 256 (a 16x16 grid) for NaFlex. */
  readonly numPositions: number;
  /** NaFlex default patch budget; `null` for FixRes. */
  readonly maxNumPatches: number | null;
  readonly vision: TowerShape;
  readonly text: TextTowerShape;
  /** Width of both normalised embeddings (image pooler = vision D; text head = projectionSize). */
  readonly embedDim: number;
  /** Pillow resample filter of the preprocessor: SigLIP 2 uses bilinear (2). */
  readonly resample: "bilinear" | "bicubic";
}

/** big_vision `vit.py` decode_variant; the HF converter uses the same numbers. */
export const TOWER_SHAPES: Readonly<Record<Variant, TowerShape>> = {
  B: { hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072 },
  L: { hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096 },
  So400m: { hiddenSize: 1152, numLayers: 27, numHeads: 16, intermediateSize: 4304 },
  "g-opt": { hiddenSize: 1536, numLayers: 40, numHeads: 16, intermediateSize: 6144 },
};

export const GEMMA_VOCAB_SIZE = 256_000;
export const TEXT_LENGTH = 64;

function textTower(variant: Variant): TextTowerShape {
  // g-opt pairs its vision tower with a So400m text tower and a 1152 -> 1536 text head.
  if (variant === "g-opt") {
    return { ...TOWER_SHAPES.So400m, vocabSize: GEMMA_VOCAB_SIZE, maxPositions: TEXT_LENGTH, projectionSize: 1536 };
  }
  const shape = TOWER_SHAPES[variant];
  return { ...shape, vocabSize: GEMMA_VOCAB_SIZE, maxPositions: TEXT_LENGTH, projectionSize: shape.hiddenSize };
}

const SLUG: Readonly<Record<Variant, string>> = { B: "base", L: "large", So400m: "so400m", "g-opt": "giant-opt" };

function fixres(variant: Variant, patchSize: number, imageSize: number): CheckpointInfo {
  const grid = Math.floor(imageSize / patchSize); // VALID conv drops leftover pixels (So400m/14 at 384: 27)
  const text = textTower(variant);
  return {
    id: `google/siglip2-${SLUG[variant]}-patch${patchSize}-${imageSize}`,
    family: "fixres",
    modelType: "siglip",
    variant,
    patchSize,
    imageSize,
    numPositions: grid * grid,
    maxNumPatches: null,
    vision: TOWER_SHAPES[variant],
    text,
    embedDim: text.projectionSize,
    resample: "bilinear",
  };
}

function naflex(variant: Variant): CheckpointInfo {
  const text = textTower(variant);
  return {
    id: `google/siglip2-${SLUG[variant]}-patch16-naflex`,
    family: "naflex",
    modelType: "siglip2",
    variant,
    patchSize: 16,
    imageSize: null,
    numPositions: 256,
    maxNumPatches: 256,
    vision: TOWER_SHAPES[variant],
    text,
    embedDim: text.projectionSize,
    resample: "bilinear",
  };
}

/** All released SigLIP 2 checkpoints, in the order of the big_vision README. */
export const CHECKPOINTS: readonly CheckpointInfo[] = [
  fixres("B", 16, 224),
  fixres("B", 16, 256),
  fixres("B", 16, 384),
  fixres("B", 16, 512),
  fixres("B", 32, 256),
  fixres("L", 16, 256),
  fixres("L", 16, 384),
  fixres("L", 16, 512),
  fixres("So400m", 14, 224),
  fixres("So400m", 14, 384),
  fixres("So400m", 16, 256),
  fixres("So400m", 16, 384),
  fixres("So400m", 16, 512),
  fixres("g-opt", 16, 256),
  fixres("g-opt", 16, 384),
  naflex("B"),
  naflex("So400m"),
];

/**
 * Patch budgets (`max_num_patches`) a NaFlex model is served at: the model card's default 256 and the sequence lengths
 * SigLIP 2 reports NaFlex results at beyond it (576, 784, 1024). A deployment may cap them (the API's
 * `MAX_NUM_PATCHES`); a bundle's own default is always allowed.
 */
export const NAFLEX_PATCH_COUNTS: readonly number[] = [256, 576, 784, 1024];

/**
 * The patch budgets one NaFlex model takes: `NAFLEX_PATCH_COUNTS` up to `cap`, plus the model's default (a custom
 * bundle may default to another budget), ascending.
 */
export function allowedPatchCounts(defaultPatches: number, cap = Number.POSITIVE_INFINITY): number[] {
  const set = new Set(NAFLEX_PATCH_COUNTS.filter((n) => n <= cap));
  set.add(defaultPatches);
  return [...set].sort((a, b) => a - b);
}

const BY_ID = new Map(CHECKPOINTS.map((c) => [c.id, c]));

/** Look up a released checkpoint by its Hugging Face id (case-sensitive, as on the hub). */
export function getCheckpoint(id: string): CheckpointInfo {
  const info = BY_ID.get(id);
  if (info === undefined) {
    throw new SiglipError("UNKNOWN_CHECKPOINT", `unknown SigLIP 2 checkpoint "${id}"`, {
      details: { known: CHECKPOINTS.map((c) => c.id) },
    });
  }
  return info;
}

export function findCheckpoint(id: string): CheckpointInfo | undefined {
  return BY_ID.get(id);
}

/** Parameter counts per tower, from the shapes alone (siglip2-spec §1.3 gives the breakdown). */
export interface ParameterCounts {
  vision: number;
  text: number;
  tokenTable: number;
  /** Both towers plus `logit_scale` and `logit_bias`. */
  total: number;
}

function encoderParams(t: TowerShape): number {
  const { hiddenSize: D, numLayers: L, intermediateSize: M } = t;
  // attention 4(D^2 + D) + MLP (2DM + M + D) + two LayerNorms 4D
  return L * (4 * D * D + 4 * D + 2 * D * M + M + D + 4 * D);
}

export function countParameters(c: CheckpointInfo): ParameterCounts {
  const v = c.vision;
  const D = v.hiddenSize;
  const patch = 3 * c.patchSize * c.patchSize * D + D;
  const head = D + 3 * D * D + 3 * D + D * D + D + 2 * D + 2 * D * v.intermediateSize + v.intermediateSize + D;
  const vision = patch + c.numPositions * D + encoderParams(v) + 2 * D + head;
  const t = c.text;
  const tokenTable = t.vocabSize * t.hiddenSize;
  const text =
    tokenTable +
    t.maxPositions * t.hiddenSize +
    encoderParams(t) +
    2 * t.hiddenSize +
    t.hiddenSize * t.projectionSize +
    t.projectionSize;
  return { vision, text, tokenTable, total: vision + text + 2 };
}
