/**
 * B/16-shaped parity and export cost, measured once (not part of npm test: ~1.5 GB checkpoints).
 * For b16-fixres (224) and b16-naflex: generate the seeded random checkpoint (real B/16 shapes, 256000 x 768 table),
 * record the transformers reference with tools/reference/export_goldens.py, convert (packages/export
 * bench/convert-once.ts in its own process: time, peak RSS), open the fp32 bundle with `openModel` on
 * onnxruntime-node and compare.
 * Usage: npm run bench -w @siglip-edge/runtime   (env B16_DIR, default /tmp/siglip-b16; B16_PRESETS to pick; then
 * bench/b16-web.ts runs the same bundles on onnxruntime-web)
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cosine, decodeNpy, l2NormalizeRows, maxAbsDiff, siglipLogits, type Tensor } from "@siglip-edge/core";
import { generateCheckpoint } from "@siglip-edge/export";
import { engineTowers, openModel, type EngineTowers, type ModelPipeline } from "../src/index.ts";
import { createNodeEngine, fsBundleSource } from "../src/node/index.ts";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const DIR = process.env["B16_DIR"] ?? "/tmp/siglip-b16";
const PY = join(ROOT, "tools", "reference", ".venv", "bin", "python");
const presets = (process.env["B16_PRESETS"] ?? "b16-fixres,b16-naflex").split(",");
const CONVERT = join(ROOT, "packages", "export", "bench", "convert-once.ts");
const open = (dir: string, textGraph?: "text") =>
  openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine(), { verify: false, ...(textGraph ? { textGraph } : {}) }) });

/** The golden image inputs through a bundle's vision tower (FixRes pixel values or NaFlex patches). */
function images(m: ModelPipeline<EngineTowers>, G: (n: string) => Tensor): Promise<Tensor<"float32">> {
  const pv = G("pixel_values") as Tensor<"float32">;
  if (m.manifest.family === "fixres") return m.towers.pixelValues(pv);
  return m.towers.naflexBatch({ pixelValues: pv, pixelAttentionMask: G("pixel_attention_mask") as Tensor<"int32">, spatialShapes: G("spatial_shapes") as Tensor<"int64"> });
}

function rows(t: Tensor): Float32Array[] {
  const [R, D] = t.dims as [number, number];
  return Array.from({ length: R }, (_, r) => (t.data as Float32Array).subarray(r * D, (r + 1) * D));
}
function fig(a: Tensor, b: Tensor): { cos: number; diff: number } {
  const ra = rows(a);
  const rb = rows(b);
  let cos = 1;
  let diff = 0;
  ra.forEach((r, i) => {
    cos = Math.min(cos, cosine(r, rb[i] as Float32Array));
    diff = Math.max(diff, maxAbsDiff(r, rb[i] as Float32Array));
  });
  return { cos, diff };
}

const lines: string[] = [];
const quantLines: string[] = [];
for (const preset of presets) {
  const ck = join(DIR, preset);
  const gold = join(DIR, "goldens");
  const out = join(DIR, `bundle-${preset}`);
  let t = performance.now();
  if (!existsSync(join(ck, "config.json"))) await generateCheckpoint(ck, preset, { seed: 0 });
  const genS = (performance.now() - t) / 1000;
  const ckBytes = statSync(join(ck, "model.safetensors")).size;
  t = performance.now();
  if (!existsSync(join(gold, preset, "meta.json"))) {
    execFileSync(PY, [join(ROOT, "tools/reference/export_goldens.py"), "--preset", preset, "--checkpoint", ck, "--out", gold], { stdio: ["ignore", "ignore", "inherit"] });
  }
  const refS = (performance.now() - t) / 1000;
  const conv = JSON.parse(execFileSync(process.execPath, [CONVERT, ck, out], { encoding: "utf8" })) as { seconds: number; maxRssMB: number; bytes: number };
  const G = (n: string): Tensor => decodeNpy(new Uint8Array(readFileSync(join(gold, preset, `${n}.npy`))));
  const m = await open(out);
  const inline = await open(out, "text");
  t = performance.now();
  const ids = G("input_ids");
  const T = ids.dims[1] as number;
  const idRows = Array.from({ length: ids.dims[0] as number }, (_, b) => Int32Array.from((ids.data as BigInt64Array).subarray(b * T, (b + 1) * T), Number));
  const ni = l2NormalizeRows(await images(m, G));
  const nt = l2NormalizeRows((await inline.runTokenIds(idRows)).embeddings);
  const ns = l2NormalizeRows((await m.runTokenIds(idRows)).embeddings);
  const runS = (performance.now() - t) / 1000;
  await m.close();
  await inline.close();
  const fi = fig(ni, G("image_embeds"));
  const ft = fig(nt, G("text_embeds"));
  const fs = fig(ns, G("text_embeds"));
  const logits = siglipLogits(ni, nt, { logitScale: m.manifest.logitScale, logitBias: m.manifest.logitBias });
  const dl = maxAbsDiff(logits.data, G("logits_per_image").data as Float32Array);
  const line =
    `| ${preset} | ${(ckBytes / 1e9).toFixed(2)} GB | ${fi.cos.toFixed(7)} / ${fi.diff.toExponential(1)} | ${ft.cos.toFixed(7)} / ${ft.diff.toExponential(1)} | ` +
    `${fs.diff.toExponential(1)} | ${dl.toExponential(1)} | ${conv.seconds.toFixed(1)} s | ${conv.maxRssMB.toFixed(0)} MB | ${(conv.bytes / 1e9).toFixed(2)} GB | ` +
    `gen ${genS.toFixed(0)} s, ref ${refS.toFixed(0)} s, ort ${runS.toFixed(1)} s |`;
  console.log(line);
  lines.push(line);
  for (const dtype of (process.env["B16_DTYPES"] ?? "fp16,int8,q4").split(",").filter((d) => d.length > 0)) {
    const qOut = join(DIR, `bundle-${preset}-${dtype}`);
    const qc = JSON.parse(execFileSync(process.execPath, [CONVERT, ck, qOut, dtype], { encoding: "utf8" })) as typeof conv;
    const q = await open(qOut);
    const qi = await images(q, G);
    const qt = (await q.runTokenIds(idRows)).embeddings;
    await q.close();
    const gi = fig(l2NormalizeRows(qi), G("image_embeds"));
    const gt = fig(l2NormalizeRows(qt), G("text_embeds"));
    const ql = `| ${preset} ${dtype} | cos to reference: image ${gi.cos.toFixed(6)}, text (split table) ${gt.cos.toFixed(6)} | export ${qc.seconds.toFixed(1)} s, peak RSS ${qc.maxRssMB.toFixed(0)} MB, bundle ${(qc.bytes / 1e9).toFixed(2)} GB |`;
    console.log(ql);
    quantLines.push(ql);
  }
}
console.log("\n| variant | min cosine to the fp32 reference | export |\n|---|---|---|");
for (const l of quantLines) console.log(l);
console.log("\n| preset | checkpoint | image min cos / max abs diff | text min cos / max abs diff | split-table text max abs diff | logits max abs diff | export time | export peak RSS | bundle size | other |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const l of lines) console.log(l);
