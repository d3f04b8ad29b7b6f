/**
 * NaFlex model inputs, computed where the vision tower's inputs are made (an engine's towers, or the KServe client):
 * patches cut from the uint8 image resized to its grid (pixel table applied), the key mask, and the position
 * embeddings (siglip2-spec §6.2): the bundle's learned G x G grid resized per image to its (h, w) patch grid with
 * torch's antialiased bilinear weights (`resizePositionGrid` of @siglip-edge/core), padded rows = row 0.
 * @module
 */
import { fileDigest, resizePositionGrid, SiglipError, type BundleManifest } from "@siglip-edge/core";
import { naflexPatchify } from "@siglip-edge/preprocess";
import { verifiedRead, type BundleSource } from "./bundle-source.ts";
import type { SizedImage } from "./pipeline.ts";
import { patchGridOf, patchMask, type PatchGrid } from "./towers.ts";

/**
 * @param grid [G*G*D] float32, the checkpoint's `position_embedding.weight` ((y, x) row-major)
 * @param spatialShapes [B, 2] (h, w) per image
 * @param out where to write (a pooled buffer of B*N*D values); default a new array
 * @returns [B, N, D] float32
 */
export function naflexPositionEmbeddings(grid: Float32Array, G: number, D: number, spatialShapes: readonly (readonly [number, number])[], N: number, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(spatialShapes.length * N * D);
  if (dst.length !== spatialShapes.length * N * D) throw new SiglipError("INVALID_ARGUMENT", `position buffer holds ${dst.length} values, [${spatialShapes.length}, ${N}, ${D}] needs ${spatialShapes.length * N * D}`);
  const done = new Map<string, number>(); // shape -> the batch row that already holds it
  spatialShapes.forEach(([h, w], b) => {
    if (h * w > N) throw new SiglipError("SHAPE_MISMATCH", `spatial shape ${h}x${w} exceeds ${N} patches`);
    const key = `${h}x${w}`;
    const base = b * N * D;
    const seen = done.get(key);
    // Written in place (no per-image array left as garbage in a Worker); a shape seen earlier in the batch is copied.
    if (seen === undefined) resizePositionGrid(grid, G, D, h, w, {}, dst.subarray(base, base + h * w * D));
    else dst.copyWithin(base, seen * N * D, seen * N * D + h * w * D);
    done.set(key, b);
    for (let i = h * w; i < N; i++) dst.copyWithin(base + i * D, base, base + D); // padding rows get r[0]; masked anyway
  });
  return dst;
}

/** The bundle's NaFlex position grid (`manifest.positionGrid`), size and sha256 checked unless `verify` is false. */
export async function readPositionGrid(source: BundleSource, manifest: BundleManifest, verify = true): Promise<Float32Array> {
  const pg = manifest.positionGrid;
  if (pg === null || manifest.preprocessing.kind !== "naflex") throw new SiglipError("INVALID_ARGUMENT", "this bundle is FixRes: it has no NaFlex position grid");
  const raw = verify ? await verifiedRead(source, pg.file, fileDigest(manifest, pg.file)) : await source.read(pg.file);
  if (raw.byteLength !== pg.side * pg.side * pg.dim * 4) throw new SiglipError("CHECKPOINT_INVALID", `${source.location}${pg.file}: ${raw.byteLength} bytes, a ${pg.side}x${pg.side}x${pg.dim} float32 grid has ${pg.side * pg.side * pg.dim * 4}`);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** A NaFlex batch as the vision graph takes it. */
export interface NaFlexInputs {
  /** [B, N, P*P*3] float32, padded rows zero */
  pixelValues: Float32Array;
  /** [B, N] int64, 1 for real patches */
  mask: BigInt64Array;
  /** [B, N, D] float32 */
  positions: Float32Array;
  grids: PatchGrid[];
}

/**
 * Sized NaFlex images (`preprocessNaFlexRgb`) to the vision graph's inputs.
 * @param into pooled arrays to fill (B*N*P*P*3 and B*N*D values); default new ones
 */
export function naflexInputs(images: readonly SizedImage[], N: number, manifest: BundleManifest, grid: Float32Array, into: { pixels?: Float32Array; positions?: Float32Array } = {}): NaFlexInputs {
  const pp = manifest.preprocessing;
  const pg = manifest.positionGrid;
  if (pp.kind !== "naflex" || pg === null) throw new SiglipError("INVALID_ARGUMENT", "this bundle is FixRes: its vision tower takes S x S pixels, not NaFlex patches");
  const P = pp.patchSize;
  const K = P * P * 3;
  const B = images.length;
  const grids = images.map((img) => patchGridOf(img, P, N));
  const pixelValues = into.pixels ?? new Float32Array(B * N * K);
  images.forEach((img, b) => naflexPatchify(img, N, P, pixelValues.subarray(b * N * K, (b + 1) * N * K)));
  const positions = naflexPositionEmbeddings(grid, pg.side, pg.dim, grids, N, into.positions);
  return { pixelValues, mask: patchMask(grids, N), positions, grids };
}
