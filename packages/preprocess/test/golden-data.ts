/** Loads the committed reference goldens (fixtures/goldens/preprocess) for the Node tests. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { decodeNpy, type Tensor } from "@siglip-edge/core";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const FIXTURES = join(REPO, "fixtures");
export const GOLDEN_DIR = join(FIXTURES, "goldens", "preprocess");

export interface GoldenImage {
  error?: string;
  width: number;
  height: number;
  format: string;
  mode: string;
  rgb: string;
  rgbFile?: string;
  fixres: Record<string, string>;
  bicubic: Record<string, string>;
  naflex: Record<string, { sha256: string; spatialShape: [number, number] }>;
}

export interface Goldens {
  meta: {
    transformers: string;
    pillow: string;
    fixresSizes: number[];
    bicubicSizes: number[];
    naflexBudgets: number[];
    lut: number[];
  };
  images: Record<string, GoldenImage>;
}

export const goldens: Goldens = JSON.parse(readFileSync(join(GOLDEN_DIR, "goldens.json"), "utf8")) as Goldens;

export function readFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, rel)));
}

export function readGoldenNpy(name: string): Tensor {
  return decodeNpy(new Uint8Array(gunzipSync(readFileSync(join(GOLDEN_DIR, name)))));
}
