/**
 * NaFlex position embeddings, computed at run time (siglip2-spec §6.2): the bundle's learned G x G grid resized per
 * image to its (h, w) patch grid with torch's antialiased bilinear weights (`resizePositionGrid` of
 * @siglip-edge/core), padded rows = row 0.
 * @module
 */
import { resizePositionGrid, SiglipError } from "@siglip-edge/core";

/**
 * @param grid [G*G*D] float32, the checkpoint's `position_embedding.weight` ((y, x) row-major)
 * @param spatialShapes [B, 2] (h, w) per image
 * @returns [B, N, D] float32
 */
export function naflexPositionEmbeddings(grid: Float32Array, G: number, D: number, spatialShapes: readonly (readonly [number, number])[], N: number): Float32Array {
  const out = new Float32Array(spatialShapes.length * N * D);
  const cache = new Map<string, Float32Array>();
  spatialShapes.forEach(([h, w], b) => {
    if (h * w > N) throw new SiglipError("SHAPE_MISMATCH", `spatial shape ${h}x${w} exceeds ${N} patches`);
    const key = `${h}x${w}`;
    let r = cache.get(key);
    if (r === undefined) {
      r = resizePositionGrid(grid, G, D, h, w); // [h*w, D]
      cache.set(key, r);
    }
    const base = b * N * D;
    out.set(r, base);
    const first = r.subarray(0, D);
    for (let i = h * w; i < N; i++) out.set(first, base + i * D); // padding rows get r[0]; they are masked anyway
  });
  return out;
}
