/**
 * Files and texts to bundle inputs: images through @siglip-edge/preprocess (bit-exact with the HF PIL path; FixRes
 * or NaFlex as the bundle's manifest says), token ids checked against the bundle's table.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { initNodeDecoders, preprocessFixRes, preprocessNaFlex } from "@siglip-edge/preprocess/node";
import type { BundleModel } from "./model.ts";

/**
 * Embeds one encoded image (PNG, JPEG, WebP, GIF, BMP).
 * @returns pooler_output [D] float32 (not normalised)
 */
export async function embedImageBytes(model: BundleModel, bytes: Uint8Array): Promise<Float32Array> {
  await initNodeDecoders();
  const p = model.manifest.preprocessing;
  if (p.kind === "fixres") {
    const px = await preprocessFixRes(bytes, { size: p.imageSize, resample: p.resample });
    return (await model.embedPixels(px.data, 1)).data;
  }
  const b = await preprocessNaFlex(bytes, { patchSize: p.patchSize, maxNumPatches: p.maxNumPatches, resample: p.resample });
  const s = b.spatialShapes.data;
  const out = await model.embedPatches({
    pixelValues: b.pixelValues.data,
    pixelAttentionMask: b.pixelAttentionMask.data,
    spatialShapes: [[Number(s[0]), Number(s[1])]],
    numPatches: b.pixelValues.dims[1] as number,
  });
  return out.data;
}

/** Checks that a tokenizer's ids fit the bundle's token table (a tiny test bundle cannot take Gemma ids). */
export function assertVocabFits(model: BundleModel, tokenizerVocab: number): void {
  const rows = model.manifest.tokenTable.rows;
  if (tokenizerVocab > rows) {
    throw new SiglipError("INVALID_ARGUMENT", `the tokenizer has ${tokenizerVocab} tokens but the bundle's table has ${rows} rows`);
  }
}
