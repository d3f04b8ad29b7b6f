/**
 * onnxruntime-web (wasm, in Node) on the B/16-shaped fp32 bundles that bench/b16.ts left in B16_DIR: the vision
 * tower and the split-table text tower (the edge form; the 786 MB table stays outside wasm memory).
 * Usage: node bench/b16-web.ts   (after bench/b16.ts; `npm run bench -w @siglip-edge/runtime` runs both)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cosine, decodeNpy, l2NormalizeRows, maxAbsDiff, type Tensor } from "@siglip-edge/core";
import { engineTowers, openModel } from "../src/index.ts";
import { createWebEngineForNode, fsBundleSource } from "../src/node/index.ts";

const DIR = process.env["B16_DIR"] ?? "/tmp/siglip-b16";
for (const preset of ["b16-fixres", "b16-naflex"]) {
  const G = (n: string): Tensor => decodeNpy(new Uint8Array(readFileSync(join(DIR, "goldens", preset, `${n}.npy`))));
  const m = await openModel({ source: fsBundleSource(join(DIR, `bundle-${preset}`)), towers: engineTowers(await createWebEngineForNode(), { verify: false }) });
  const pv = G("pixel_values") as Tensor<"float32">;
  const t0 = performance.now();
  const img = m.manifest.family === "fixres"
    ? await m.towers.pixelValues(pv)
    : await m.towers.naflexBatch({ pixelValues: pv, pixelAttentionMask: G("pixel_attention_mask") as Tensor<"int32">, spatialShapes: G("spatial_shapes") as Tensor<"int64"> });
  const ids = G("input_ids");
  const T = ids.dims[1] as number;
  const txt = (await m.runTokenIds(Array.from({ length: ids.dims[0] as number }, (_, b) => Int32Array.from((ids.data as BigInt64Array).subarray(b * T, (b + 1) * T), Number)))).embeddings;
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
  console.log(`| ${preset} ort-web | image ${cmp(l2NormalizeRows(img), G("image_embeds"))} | split-table text ${cmp(l2NormalizeRows(txt), G("text_embeds"))} | ${s.toFixed(1)} s |`);
}
