/**
 * The pure-TS JPEG decoder and the streaming route (decode rows -> resize, no full image) against the same
 * Hugging Face goldens as the WASM route: every JPEG fixture (grey, YCbCr and CMYK through the one decoder), decoded
 * RGB and every FixRes, bicubic and NaFlex tensor with `jpegDecoder: "ts"`, and the Pillow-written variants of every
 * colour model. goldens.test.ts proves the WASM route on the same files.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { hasErrorCode, maxAbsDiff } from "@siglip-edge/core";
import { decodeImage, decoderMemoryBytes, fixresPixels, naflexPatchify, preprocessFixRes, preprocessFixResRgb, preprocessNaFlex, preprocessNaFlexRgb } from "../src/index.ts";
import { decodeJpegFullTs } from "../src/decode/jpeg.ts";
import { readJpegHeader } from "../src/decode/jpeg-markers.ts";
import { initNodeDecoders } from "../src/node/index.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_DIR, goldens, readFixture, readGoldenNpy } from "./golden-data.ts";

function sha(a: ArrayBufferView): string {
  return createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");
}

const jpegs = Object.entries(goldens.images).filter(([rel, g]) => g.error === undefined && g.format === "JPEG" && rel.endsWith(".jpg"));

beforeAll(async () => {
  await initNodeDecoders();
});

describe("pure-TS JPEG decoder", () => {
  it("decodes every JPEG fixture (grey, YCbCr, CMYK) exactly as Pillow (libjpeg-turbo 3.1)", async () => {
    const failures: string[] = [];
    for (const [rel, g] of jpegs) {
      const bytes = readFixture(rel);
      const h = readJpegHeader(bytes);
      const raw = decodeJpegFullTs(bytes, h.width, h.height);
      if (raw === undefined) {
        failures.push(`${rel}: fell back to WASM`);
        continue;
      }
      const img = await decodeImage(bytes, { jpegDecoder: "ts" });
      if (sha(img.data) !== g.rgb) {
        const d = g.rgbFile === undefined ? "?" : maxAbsDiff(img.data, readGoldenNpy(g.rgbFile).data as Uint8Array);
        failures.push(`${rel}: RGB differs (max |diff| ${d})`);
      }
    }
    const cmyk = jpegs.filter(([, g]) => g.mode === "CMYK").length;
    console.log(`[preprocess jpeg-ts] ${jpegs.length} JPEG fixtures (${cmyk} CMYK) decoded by the TS decoder, ${jpegs.length - failures.length} identical to Pillow`);
    expect(jpegs.length).toBeGreaterThanOrEqual(22);
    expect(cmyk).toBe(2);
    expect(failures).toEqual([]);
  });

  it("streams decode -> resize with tensors identical to the reference (FixRes, bicubic, NaFlex)", async () => {
    const failures: string[] = [];
    let compared = 0;
    for (const [rel, g] of jpegs) {
      const bytes = readFixture(rel);
      const check = (name: string, got: Float32Array, want: string | undefined): void => {
        compared++;
        if (sha(got) !== want) failures.push(`${rel}: ${name} differs`);
      };
      for (const s of goldens.meta.fixresSizes) check(`fixres-${s}`, (await preprocessFixRes(bytes, { size: s, jpegDecoder: "ts" })).data, g.fixres[String(s)]);
      for (const s of goldens.meta.bicubicSizes) check(`bicubic-${s}`, (await preprocessFixRes(bytes, { size: s, resample: "bicubic", jpegDecoder: "ts" })).data, g.bicubic[String(s)]);
      for (const n of goldens.meta.naflexBudgets) {
        const out = await preprocessNaFlex(bytes, { maxNumPatches: n, jpegDecoder: "ts" });
        const want = g.naflex[String(n)];
        check(`naflex-${n}`, out.pixelValues.data, want?.sha256);
        check(`naflex-${n} (uint8 wire)`, naflexPatchify(await preprocessNaFlexRgb(bytes, { maxNumPatches: n, jpegDecoder: "ts" }), n, 16).pixelValues, want?.sha256);
        const shape = Array.from(out.spatialShapes.data, Number);
        if (want !== undefined && (shape[0] !== want.spatialShape[0] || shape[1] !== want.spatialShape[1])) failures.push(`${rel}: naflex-${n} grid ${shape.join("x")}`);
      }
    }
    console.log(`[preprocess jpeg-ts] streaming route: ${compared - failures.length}/${compared} tensors identical to the reference`);
    expect(failures).toEqual([]);
  });

  const variantDir = join(GOLDEN_DIR, "jpeg-variants");
  const variants = JSON.parse(readFileSync(join(variantDir, "variants.json"), "utf8")) as {
    files: Record<string, { width: number; height: number; colour: "grey" | "ycc" | "cmyk" | "ycck"; rgb: string; options: { restart_marker_blocks?: number; progressive: boolean } }>;
  };
  const variantNames = (four: boolean) => Object.keys(variants.files).filter((n) => (variants.files[n]?.colour === "cmyk" || variants.files[n]?.colour === "ycck") === four);

  it("decodes 72 grey / YCbCr JPEG variants (restart intervals, progressive odd sizes, 1-2 sample wide chroma) as Pillow on both routes", async () => {
    const failures: string[] = [];
    const names = variantNames(false);
    for (const name of names) {
      const want = variants.files[name];
      const bytes = new Uint8Array(readFileSync(join(variantDir, name)));
      const h = readJpegHeader(bytes);
      const ts = decodeJpegFullTs(bytes, h.width, h.height); // no EXIF orientation in these files
      const wasm = await decodeImage(bytes, { jpegDecoder: "wasm" });
      if (ts === undefined) failures.push(`${name}: TS decoder fell back to WASM`);
      else if (sha(ts.data) !== want?.rgb) failures.push(`${name}: TS decode differs from Pillow`);
      if (sha(wasm.data) !== want?.rgb) failures.push(`${name}: WASM decode differs from Pillow`);
      const a = await preprocessFixRes(bytes, { size: 24, jpegDecoder: "ts" });
      const b = await preprocessFixRes(bytes, { size: 24, jpegDecoder: "wasm" });
      if (sha(a.data) !== sha(b.data)) failures.push(`${name}: streaming FixRes differs from the WASM route`);
    }
    console.log(`[preprocess jpeg-ts] variants: ${names.length} grey / YCbCr files, ${failures.length} differences (TS and WASM decode vs Pillow, streaming vs full route)`);
    expect(names.length).toBe(72);
    expect(failures).toEqual([]);
  });

  it("decodes 48 CMYK / YCCK JPEG variants (Adobe transform 0, 1, 2 or none; progressive, subsampled, restart intervals) as Pillow through the same decoder", async () => {
    const failures: string[] = [];
    const names = variantNames(true);
    const count = (f: (v: NonNullable<(typeof variants.files)[string]>) => boolean) => names.filter((n) => f(variants.files[n] as NonNullable<(typeof variants.files)[string]>)).length;
    for (const name of names) {
      const want = variants.files[name];
      const bytes = new Uint8Array(readFileSync(join(variantDir, name)));
      // decodeImage takes the TS decoder for 4 components whatever the choice (the WASM build cannot output CMYK).
      const img = await decodeImage(bytes, { jpegDecoder: "wasm" });
      if (sha(img.data) !== want?.rgb) failures.push(`${name}: decode differs from Pillow`);
      const stream = await preprocessFixRes(bytes, { size: 24, jpegDecoder: "ts" });
      if (sha(stream.data) !== sha(fixresPixels(img, { size: 24 }))) failures.push(`${name}: streaming FixRes differs from the full-image route`);
    }
    console.log(`[preprocess jpeg-ts] variants: ${names.length} CMYK / YCCK files (${count((v) => v.colour === "ycck")} YCCK, ${count((v) => v.options.progressive)} progressive, ${count((v) => (v.options.restart_marker_blocks ?? 0) > 0)} with restart intervals), ${failures.length} differences`);
    expect(names.length).toBe(48);
    expect(count((v) => v.colour === "ycck")).toBe(24);
    expect(failures).toEqual([]);
  });

  it("reports the WASM decoders' linear memory (the edge API measures it)", async () => {
    await decodeImage(readFixture("photos/sklearn/china.jpg"), { jpegDecoder: "wasm" });
    const bytes = decoderMemoryBytes();
    // At least the decoded 640x427 RGBA image lives in the JPEG decoder's heap; WASM memory grows in 64 KiB pages.
    expect(bytes).toBeGreaterThanOrEqual(640 * 427 * 4);
    expect(bytes % 65536).toBe(0);
  });

  it("lets streamed baseline JPEGs past maxPixels up to maxStreamedJpegPixels, never progressive ones", async () => {
    const limits = { maxPixels: 1000, maxStreamedJpegPixels: 1_000_000 };
    const china = readFixture("photos/sklearn/china.jpg"); // 640x427 baseline
    const g = goldens.images["photos/sklearn/china.jpg"];
    // "auto" streams it (it only fits through the streamed cap), with the reference tensor.
    expect(sha((await preprocessFixRes(china, { size: 224, limits })).data)).toBe(g?.fixres["224"]);
    // The uint8 route (decode + resize only, as the API Worker sends it) streams the same way, to the same tensor.
    const rgb = await preprocessFixResRgb(china, { size: 224, limits });
    expect([rgb.width, rgb.height, rgb.channels, rgb.data.length]).toEqual([224, 224, 3, 224 * 224 * 3]);
    expect(sha(fixresPixels(rgb, { size: 224 }))).toBe(g?.fixres["224"]);
    await expect(preprocessFixRes(china, { size: 224, limits, jpegDecoder: "wasm" })).rejects.toSatisfy((e) => hasErrorCode(e, "IMAGE_TOO_LARGE"));
    await expect(decodeImage(china, { limits })).rejects.toSatisfy((e) => hasErrorCode(e, "IMAGE_TOO_LARGE"));
    const prog = readFixture("images/progressive.jpg"); // 97x61 progressive: keeps its coefficients, so maxPixels holds
    await expect(preprocessNaFlex(prog, { limits, jpegDecoder: "ts" })).rejects.toSatisfy((e) => hasErrorCode(e, "IMAGE_TOO_LARGE"));
  });

  it("rejects truncated files with a typed error on the streaming route", async () => {
    const bytes = readFixture("photos/sklearn/china.jpg");
    for (const cut of [bytes.length - 3, Math.floor(bytes.length / 2), 700]) {
      await expect(preprocessFixRes(bytes.slice(0, cut), { size: 224, jpegDecoder: "ts" })).rejects.toSatisfy((e) => hasErrorCode(e, "IMAGE_DECODE_FAILED"));
    }
  });
});
