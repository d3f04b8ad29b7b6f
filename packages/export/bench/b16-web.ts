/**
 * onnxruntime-web (wasm, in Node) on the B/16-shaped fp32 bundles that bench/b16.ts left in B16_DIR: the vision
 * tower and the split-table text tower (the edge form; the 786 MB table stays outside wasm memory).
 * Usage: node bench/b16-web.ts   (after npm run bench -w @siglip-edge/export)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cosine, decodeNpy, l2NormalizeRows, maxAbsDiff, tensor, type Tensor } from "@siglip-edge/core";
import { BundleModel } from "../src/model.ts";

const DIR = process.env["B16_DIR"] ?? "/tmp/siglip-b16";
for (const preset of ["b16-fixres", "b16-naflex"]) {
  const G = (n: string): Tensor => decodeNpy(new Uint8Array(readFileSync(join(DIR, "goldens", preset, `${n}.npy`))));
  const m = await BundleModel.load(join(DIR, `bundle-${preset}`), { backend: "web", verify: "sizes" });
  const pv = G("pixel_values");
  const t0 = performance.now();
  const img = m.manifest.family === "fixres"
    ? await m.embedPixels(pv.data as Float32Array, pv.dims[0] as number)
    : await m.embedPatches({
        pixelValues: pv.data as Float32Array,
        pixelAttentionMask: G("pixel_attention_mask").data as Int32Array,
        spatialShapes: Array.from({ length: pv.dims[0] as number }, (_, b) => [Number((G("spatial_shapes").data as BigInt64Array)[2 * b]), Number((G("spatial_shapes").data as BigInt64Array)[2 * b + 1])] as const),
        numPatches: pv.dims[1] as number,
      });
  const ids = G("input_ids");
  const T = ids.dims[1] as number;
  const txt = await m.embedTokenIds(Array.from({ length: ids.dims[0] as number }, (_, b) => Array.from((ids.data as BigInt64Array).subarray(b * T, (b + 1) * T), Number)), true);
  const s = (performance.now() - t0) / 1000;
  await m.close();
  const cmp = (a: Tensor, b: Tensor): string => {
    const D = a.dims[1] as number;
    let c = 1;
    let d = 0;
    for (let r = 0; r < (a.dims[0] as number); r++) {
      const x = (a.data as Float32Array).subarray(r * D, (r + 1) * D);
      const y = (b.data as Float32Array).subarray(r * D, (r + 1) * D);
      c = Math.min(c, cosine(x, y));
      d = Math.max(d, maxAbsDiff(x, y));
    }
    return `${c.toFixed(7)} / ${d.toExponential(1)}`;
  };
  console.log(`| ${preset} ort-web | image ${cmp(l2NormalizeRows(tensor("float32", img.dims, img.data)), G("image_embeds"))} | split-table text ${cmp(l2NormalizeRows(tensor("float32", txt.dims, txt.data)), G("text_embeds"))} | ${s.toFixed(1)} s |`);
}
