/**
 * `npm run bench -w @siglip-edge/preprocess`: images/s for decode + resize + normalise (FixRes 224, NaFlex 256) on
 * the 220 fixture photos, side by side in one run with Pillow + the HF processors (Python venv, if present) and a
 * sharp pipeline; then peak memory for a 24-megapixel JPEG in fresh processes. One thread everywhere.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { decodeImage, fixresPixels, naflexPatches, preprocessFixRes } from "../src/index.ts";
import { initNodeDecoders } from "../src/node/index.ts";
import { loadPhotos, REPO } from "./photos.ts";
import { sharpFixRes, sharpNaFlex } from "./sharp-pipeline.ts";

const photos = loadPhotos();
await initNodeDecoders();

async function rate(name: string, fn: (b: Uint8Array) => Promise<unknown>): Promise<number> {
  for (const p of photos.slice(0, 10)) await fn(p.bytes); // warm-up (JIT, WASM instances)
  const t = performance.now();
  for (const p of photos) await fn(p.bytes);
  const ips = photos.length / ((performance.now() - t) / 1000);
  console.log(`  ${name.padEnd(34)} ${ips.toFixed(1).padStart(7)} images/s`);
  return ips;
}

console.log(`preprocess bench: ${photos.length} photos (${process.arch}, Node ${process.versions.node})`);
const ours = {
  fixres: await rate("wasm/ts  decode + FixRes 224", async (b) => fixresPixels(await decodeImage(b), { size: 224 })),
  naflex: await rate("wasm/ts  decode + NaFlex 256", async (b) => naflexPatches(await decodeImage(b), { maxNumPatches: 256 })),
};
// The JPEG photos alone through both JPEG routes (auto picks WASM below TS_JPEG_AUTO_MIN_PIXELS, so force each).
const jpegs = photos.filter((p) => p.file.endsWith(".jpg"));
async function jpegRate(name: string, jpegDecoder: "wasm" | "ts"): Promise<void> {
  for (const p of jpegs) await preprocessFixRes(p.bytes, { size: 224, jpegDecoder });
  const t = performance.now();
  for (let r = 0; r < 4; r++) for (const p of jpegs) await preprocessFixRes(p.bytes, { size: 224, jpegDecoder });
  const secs = (performance.now() - t) / 1000;
  console.log(`  ${name.padEnd(34)} ${((4 * jpegs.length) / secs).toFixed(1).padStart(7)} images/s (${jpegs.length} JPEG photos x 4)`);
}
await jpegRate("jpeg: wasm decode + FixRes 224", "wasm");
await jpegRate("jpeg: ts stream + FixRes 224", "ts");

const sh = {
  fixres: await rate("sharp    decode + FixRes 224", (b) => sharpFixRes(b, 224)),
  naflex: await rate("sharp    decode + NaFlex 256", (b) => sharpNaFlex(b, 256)),
};

// How far the sharp pipeline lands from the reference (ours is bit-exact, see the goldens test).
let maxDiff = 0;
let differing = 0;
let total = 0;
for (const p of photos) {
  const a = fixresPixels(await decodeImage(p.bytes), { size: 224 });
  const b = await sharpFixRes(p.bytes, 224);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0) differing++;
    if (d > maxDiff) maxDiff = d;
  }
  total += a.length;
}
console.log(`  sharp FixRes 224 vs reference: max |diff| ${maxDiff.toFixed(4)} (${(maxDiff * 127.5).toFixed(0)} grey levels), ${((100 * differing) / total).toFixed(1)}% of values differ`);

// A 24 MP JPEG (6000 x 4000, noisy gradient), written once to a temp folder.
const dir = mkdtempSync(join(tmpdir(), "siglip-bench-"));
const big = join(dir, "24mp.jpg");
const W = 6000;
const H = 4000;
const raw = Buffer.alloc(W * H * 3);
for (let y = 0, i = 0; y < H; y++) for (let x = 0; x < W; x++) { raw[i++] = (x * 255) / W; raw[i++] = (y * 255) / H; raw[i++] = (x ^ y) & 255; }
writeFileSync(big, await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
const bigProg = join(dir, "24mp-progressive.jpg");
writeFileSync(bigProg, await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90, progressive: true }).toBuffer());

function child(args: string[]): Record<string, unknown> | undefined {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    console.log(`  (${args.slice(0, 2).join(" ")} failed: ${r.stderr.trim().split("\n").pop()})`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
}
const fmt = (m: Record<string, unknown> | undefined) =>
  m === undefined
    ? "n/a"
    : `peak RSS ${Number(m["peakRssMiB"]).toFixed(0)} MiB (process baseline ${Number(m["rssBeforeMiB"]).toFixed(0)} MiB, +${(Number(m["peakRssMiB"]) - Number(m["rssBeforeMiB"])).toFixed(0)})` +
      (m["heapMiB"] === undefined ? "" : `, JS heap +${Number(m["heapMiB"]).toFixed(0)} MiB, external +${Number(m["externalMiB"]).toFixed(0)} MiB`) +
      `, ${Number(m["ms"]).toFixed(0)} ms`;
console.log("24 MP JPEG (6000x4000), decode + FixRes 224, fresh process each:");
const mem = join(REPO, "packages/preprocess/bench/mem-24mp.ts");
console.log(`  wasm decode, full image:   ${fmt(child([process.execPath, mem, big, "wasm"]))}`);
console.log(`  ts stream (baseline):      ${fmt(child([process.execPath, mem, big, "stream"]))}`);
console.log(`  ts stream (progressive):   ${fmt(child([process.execPath, mem, bigProg, "stream"]))}`);
console.log(`  sharp:   ${fmt(child([process.execPath, join(REPO, "packages/preprocess/bench/mem-24mp-sharp.ts"), big]))}`);

const py = join(REPO, "tools/reference/.venv/bin/python");
if (existsSync(py)) {
  const r = child([py, join(REPO, "tools/reference/preprocess_bench.py"), join(REPO, "fixtures/photos"), big]);
  if (r !== undefined) {
    const fx = Number(r["fixres224"]);
    const nf = Number(r["naflex256"]);
    console.log(`  Pillow:  ${fmt(r["big"] as Record<string, unknown>)} (peak includes the photo loop before it)`);
    console.log("Pillow 12.3 + transformers 5.18 PIL processors (same photos, same run):");
    console.log(`  ${"pillow   load_image + FixRes 224".padEnd(34)} ${fx.toFixed(1).padStart(7)} images/s`);
    console.log(`  ${"pillow   load_image + NaFlex 256".padEnd(34)} ${nf.toFixed(1).padStart(7)} images/s`);
    console.log(`ratio wasm/ts : Pillow  FixRes ${(ours.fixres / fx).toFixed(2)}x, NaFlex ${(ours.naflex / nf).toFixed(2)}x (goal >= 0.5x)`);
    console.log(`ratio sharp   : Pillow  FixRes ${(sh.fixres / fx).toFixed(2)}x, NaFlex ${(sh.naflex / nf).toFixed(2)}x`);
  }
} else {
  console.log("Pillow comparison skipped: tools/reference/.venv not present");
}
