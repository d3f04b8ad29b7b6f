/**
 * `node packages/preprocess/bench/jpeg.ts`: the JPEG decoders alone, for before/after comparisons of decoder work.
 * Per route, milliseconds per image (median of 7 runs after 2 warm-ups) on the 5 JPEG fixture photos and on a
 * 3 MP CMYK file; then peak memory in fresh processes (`mem-24mp.ts`) for 24 MP baseline, progressive and CMYK files.
 * The CMYK and 24 MP files are written to a temp folder (removed at the end) with sharp (CMYK: Adobe marker,
 * transform 0, 4:4:4).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { decodeImage, preprocessFixRes } from "../src/index.ts";
import { initNodeDecoders } from "../src/node/index.ts";
import { loadPhotos, REPO } from "./photos.ts";

await initNodeDecoders();
const LIMITS = { maxPixels: 30_000_000 };

/** The bench's gradient test card (as run.ts writes it), [H, W, 3] uint8. */
function card(W: number, H: number): Buffer {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0, i = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      raw[i++] = (x * 255) / W;
      raw[i++] = (y * 255) / H;
      raw[i++] = (x ^ y) & 255;
    }
  }
  return raw;
}

async function writeJpeg(path: string, W: number, H: number, opts: { progressive?: boolean; cmyk?: boolean }): Promise<string> {
  let img = sharp(card(W, H), { raw: { width: W, height: H, channels: 3 } });
  if (opts.cmyk === true) img = img.toColourspace("cmyk");
  writeFileSync(path, await img.jpeg({ quality: 90, progressive: opts.progressive ?? false }).toBuffer());
  return path;
}

async function msPerImage(run: () => Promise<unknown>): Promise<number> {
  await run();
  await run();
  const t: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await run();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[3] as number;
}

const dir = mkdtempSync(join(tmpdir(), "siglip-jpeg-bench-"));
const cases = loadPhotos()
  .filter((p) => p.file.endsWith(".jpg"))
  .map((p) => ({ name: p.file.split("/").pop() ?? p.file, bytes: p.bytes }));
cases.push({ name: "cmyk-2000x1500.jpg", bytes: new Uint8Array(readFileSync(await writeJpeg(join(dir, "cmyk.jpg"), 2000, 1500, { cmyk: true }))) });

console.log(`preprocess JPEG bench (${process.arch}, Node ${process.versions.node}), ms per image, median of 7:`);
console.log(`  ${"file".padEnd(26)} ${"ts decode".padStart(10)} ${"ts stream 224".padStart(14)} ${"wasm decode".padStart(12)}`);
for (const c of cases) {
  const ts = await msPerImage(() => decodeImage(c.bytes, { jpegDecoder: "ts", limits: LIMITS }));
  const stream = await msPerImage(() => preprocessFixRes(c.bytes, { size: 224, jpegDecoder: "ts", limits: LIMITS }));
  const cmyk = c.name.startsWith("cmyk");
  const wasm = cmyk ? undefined : await msPerImage(() => decodeImage(c.bytes, { jpegDecoder: "wasm", limits: LIMITS }));
  console.log(`  ${c.name.padEnd(26)} ${ts.toFixed(1).padStart(10)} ${stream.toFixed(1).padStart(14)} ${(wasm === undefined ? "n/a" : wasm.toFixed(1)).padStart(12)}`);
}

const mem = join(REPO, "packages/preprocess/bench/mem-24mp.ts");
const big = [
  ["baseline 4:2:0", await writeJpeg(join(dir, "24mp.jpg"), 6000, 4000, {})],
  ["progressive 4:2:0", await writeJpeg(join(dir, "24mp-progressive.jpg"), 6000, 4000, { progressive: true })],
  ["CMYK baseline", await writeJpeg(join(dir, "24mp-cmyk.jpg"), 6000, 4000, { cmyk: true })],
] as const;
console.log("24 MP JPEG (6000x4000), preprocessFixRes 224 with jpegDecoder \"ts\", fresh process each:");
for (const [name, file] of big) {
  const r = spawnSync(process.execPath, [mem, file, "stream"], { encoding: "utf8" });
  const m = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, number>;
  const line = r.status !== 0 ? `failed: ${r.stderr.trim().split("\n").pop()}` : `peak RSS ${m["peakRssMiB"]?.toFixed(0)} MiB (+${((m["peakRssMiB"] ?? 0) - (m["rssBeforeMiB"] ?? 0)).toFixed(0)} over baseline), ${m["ms"]?.toFixed(0)} ms`;
  console.log(`  ${name.padEnd(18)} ${line}`);
}
rmSync(dir, { recursive: true });
