/**
 * Thumbnails of the dataset images for the dashboard: each image decoded as the model sees it (packages/preprocess:
 * EXIF orientation applied, RGB), shrunk with Pillow's antialiased bilinear filter so its longer side is at most
 * `maxSide` pixels (never enlarged), and encoded as baseline JPEG (mozjpeg through @jsquash/jpeg, the codec family
 * the preprocessing already loads). Files are named by the image bytes' hash, `thumbs/<16 hex>.jpg` beside the
 * report, so reruns and other reports of the same images reuse them; an image that cannot be decoded gets none.
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { decodeImage, initNodeDecoders, resizeImage } from "@siglip-edge/preprocess/node";
import type { AuditReport, Gallery } from "../report-schema.ts";

/** Longer side of a thumbnail by default (px): 96 x 72 for a 4:3 photo, about 2-4 KB of JPEG. */
export const THUMBNAIL_MAX_SIDE = 96;
export const THUMBNAIL_QUALITY = 75;
export const THUMBNAIL_DIR = "thumbs";

/** The one WebAssembly call used (the packages typecheck without the DOM lib). */
const WA = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;

interface JpegEncoder {
  init(module: object): Promise<void>;
  default(data: { data: Uint8ClampedArray; width: number; height: number; colorSpace: "srgb" }, options: { quality: number; baseline: boolean; progressive: boolean }): Promise<ArrayBuffer>;
}

let encoder: Promise<JpegEncoder["default"]> | undefined;

function jpegEncoder(): Promise<JpegEncoder["default"]> {
  encoder ??= (async () => {
    const require = createRequire(import.meta.url);
    const mod = (await import(require.resolve("@jsquash/jpeg/encode.js"))) as JpegEncoder;
    await mod.init(await WA.compile(readFileSync(require.resolve("@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm"))));
    return mod.default;
  })();
  return encoder;
}

/** Output size that fits `maxSide` with the aspect ratio kept (at least 1 px), never larger than the input. */
export function thumbnailSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** One thumbnail as JPEG bytes, or null when the bytes are not an image the preprocessing decodes. */
export async function makeThumbnail(bytes: Uint8Array, maxSide = THUMBNAIL_MAX_SIDE, quality = THUMBNAIL_QUALITY): Promise<Uint8Array | null> {
  await initNodeDecoders();
  let img;
  try {
    img = await decodeImage(bytes);
  } catch {
    return null;
  }
  const size = thumbnailSize(img.width, img.height, maxSide);
  const small = size.width === img.width && size.height === img.height ? img : resizeImage(img, size.width, size.height, "bilinear");
  return encodeJpeg(small.data, small.width, small.height, quality);
}

/** Baseline JPEG bytes of an [H, W, 3] RGB raster (mozjpeg). */
export async function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = THUMBNAIL_QUALITY): Promise<Uint8Array> {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let p = 0, q = 0; p < width * height; p++, q += 3) {
    rgba[4 * p] = rgb[q] as number;
    rgba[4 * p + 1] = rgb[q + 1] as number;
    rgba[4 * p + 2] = rgb[q + 2] as number;
    rgba[4 * p + 3] = 255;
  }
  const encode = await jpegEncoder();
  return new Uint8Array(await encode({ data: rgba, width, height, colorSpace: "srgb" }, { quality, baseline: true, progressive: false }));
}

/**
 * Writes the thumbnails missing from `outDir/thumbs/` (write-then-rename) and returns each image's path relative
 * to `outDir` (null when it could not be decoded) and the gallery's thumbnail spec (null when `maxSide` is 0).
 * @param images the dataset images' bytes and sha256 hex
 */
export async function writeThumbnails(
  outDir: string,
  images: readonly { bytes: Uint8Array; hash: string }[],
  maxSide = THUMBNAIL_MAX_SIDE,
): Promise<{ spec: Gallery["thumbnails"]; paths: (string | null)[]; made: number; failed: number }> {
  if (maxSide === 0) return { spec: null, paths: images.map(() => null), made: 0, failed: 0 };
  const dir = join(outDir, THUMBNAIL_DIR);
  mkdirSync(dir, { recursive: true });
  let made = 0;
  let failed = 0;
  const paths: (string | null)[] = [];
  // A marker per undecodable image, so a rerun does not try again.
  for (const im of images) {
    const name = `${im.hash.slice(0, 16)}.jpg`;
    const file = join(dir, name);
    const none = join(dir, `${im.hash.slice(0, 16)}.none`);
    if (!existsSync(file) && !existsSync(none)) {
      const jpeg = await makeThumbnail(im.bytes, maxSide);
      const target = jpeg === null ? none : file;
      const tmp = `${target}.tmp-${process.pid}`;
      writeFileSync(tmp, jpeg ?? new Uint8Array(0));
      renameSync(tmp, target);
      if (jpeg === null) failed++;
      else made++;
    }
    paths.push(existsSync(file) ? `${THUMBNAIL_DIR}/${name}` : null);
  }
  return { spec: { dir: THUMBNAIL_DIR, maxSide, format: "jpeg", quality: THUMBNAIL_QUALITY }, paths, made, failed };
}

/**
 * Copies the thumbnails a report names (relative to `reportDir`) into `outDir`, so a dashboard written there finds
 * them at the same relative paths; files already there are kept. Returns how many were copied and how many were
 * missing at the source (their images then show "no thumbnail").
 */
export function copyThumbnails(report: AuditReport, reportDir: string, outDir: string): { copied: number; missing: number } {
  let copied = 0;
  let missing = 0;
  if (resolve(reportDir) === resolve(outDir)) return { copied, missing };
  for (const im of report.gallery?.images ?? []) {
    if (im.thumbnail === null) continue;
    if (im.thumbnail.startsWith("/") || im.thumbnail.split("/").includes("..")) continue; // only paths below the report
    const src = join(reportDir, im.thumbnail);
    const dst = join(outDir, im.thumbnail);
    if (existsSync(dst)) continue;
    if (!existsSync(src)) {
      missing++;
      continue;
    }
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(src, dst);
    copied++;
  }
  return { copied, missing };
}
