/**
 * Planted XM3600-shaped embeddings on disk, shared by the TS stage and the numpy peer (tools/reference/metrics_bench.py):
 * sparse rows as .npy (indptr, indices, values) so 36 languages take a few MB instead of 800 MB, and the planted ranks.
 * Layout: DIR/meta.json, DIR/images.{indptr,indices,values}.npy, DIR/owner.npy, and per language
 * DIR/<lang>/texts.{indptr,indices,values}.npy, DIR/<lang>/expected.{t2i,i2t}.npy (optimistic ties, all captions).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeNpy, encodeNpy, tensor, type Tensor } from "@siglip-edge/core";
import { densify, plantedRanks, plantRetrieval, type SparseRows } from "../src/testing/planted.ts";

export interface PlantMeta {
  images: number;
  captionsPerImage: number;
  dim: number;
  languages: string[];
  /** Language l is planted with seed 1000 + l (one layout seed, so one set of images) and top1 = 0.62 - 0.01 l. */
  plant: string;
}

const top1Of = (l: number) => 0.62 - 0.01 * l;

/** Plants every language and writes the files; returns the metadata. */
export function writePlant(dir: string, images: number, captionsPerImage: number, dim: number, languages: number): PlantMeta {
  mkdirSync(dir, { recursive: true });
  const meta: PlantMeta = {
    images,
    captionsPerImage,
    dim,
    languages: Array.from({ length: languages }, (_, l) => `l${String(l).padStart(2, "0")}`),
    plant: "plantRetrieval({ images, captionsPerImage, dim, seed: 1000 + l, layoutSeed: 1000, top1: 0.62 - 0.01 l, hubs: 12, tieShare: 0.1 })",
  };
  meta.languages.forEach((lang, l) => {
    const p = plantRetrieval({ images, captionsPerImage, dim, seed: 1000 + l, layoutSeed: 1000, top1: top1Of(l), hubs: 12, tieShare: 0.1 });
    if (l === 0) {
      writeSparse(join(dir, "images"), p.images);
      writeNpy(join(dir, "owner.npy"), tensor("int32", [p.owner.length], p.owner));
    }
    mkdirSync(join(dir, lang), { recursive: true });
    writeSparse(join(dir, lang, "texts"), p.texts);
    const want = plantedRanks(p);
    writeNpy(join(dir, lang, "expected.t2i.npy"), tensor("int32", [want.textToImageRanks.length], want.textToImageRanks));
    writeNpy(join(dir, lang, "expected.i2t.npy"), tensor("int32", [want.imageToTextRanks.length], want.imageToTextRanks));
  });
  writeFileSync(join(dir, "meta.json"), JSON.stringify(meta, null, 1));
  return meta;
}

function writeNpy(path: string, t: Tensor): void {
  writeFileSync(path, encodeNpy(t));
}

function writeSparse(prefix: string, s: SparseRows): void {
  writeNpy(`${prefix}.indptr.npy`, tensor("int32", [s.indptr.length], s.indptr));
  writeNpy(`${prefix}.indices.npy`, tensor("int32", [s.indices.length], s.indices));
  writeNpy(`${prefix}.values.npy`, tensor("float32", [s.values.length], s.values));
}

export const readMeta = (dir: string): PlantMeta => JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as PlantMeta;

function readNpy<T extends "int32" | "float32">(path: string, dtype: T): Tensor<T> {
  const t = decodeNpy(new Uint8Array(readFileSync(path)));
  if (t.dtype !== dtype) throw new Error(`${path}: expected ${dtype}, got ${t.dtype}`);
  return t as Tensor<T>;
}

export const readInt32 = (path: string): Int32Array => readNpy(path, "int32").data;

/** The dense [rows, dim] float32 matrix of DIR/<prefix>.*.npy. */
export function readDense(prefix: string, dim: number): Tensor<"float32"> {
  const indptr = readInt32(`${prefix}.indptr.npy`);
  const indices = readInt32(`${prefix}.indices.npy`);
  const values = readNpy(`${prefix}.values.npy`, "float32").data;
  const rows = indptr.length - 1;
  return tensor("float32", [rows, dim], densify({ rows, cols: dim, indptr, indices, values }));
}
