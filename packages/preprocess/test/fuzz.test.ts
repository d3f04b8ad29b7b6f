/**
 * Fuzz / property test: 10,000 mutated or truncated files per format go through `decodeImage`. Every outcome must
 * be either a well-formed RGB image or a `SiglipError` with an image error code; nothing else may escape and nothing
 * may hang. The work per file is bounded by the pixel limit checked from the header, and the slowest file per
 * format is printed (no timing assertion, per house rules).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hasErrorCode, isSiglipError, mulberry32 as rng } from "@siglip-edge/core";
import { decodeImage, preprocessFixRes } from "../src/index.ts";
import { initNodeDecoders } from "../src/node/index.ts";
import { readFixture } from "./golden-data.ts";

const PER_FORMAT = 10_000;
const LIMITS = { maxPixels: 1_000_000, maxDimension: 8192 };

const SEEDS: Readonly<Record<string, readonly string[]>> = {
  // Every colour model of the one TS decoder (grey, YCbCr, CMYK, YCCK), baseline and progressive, with and without
  // restart intervals; the Pillow-written variants are small, so mutants reach their entropy data too.
  jpeg: [
    "images/subsampling-420.jpg",
    "images/progressive.jpg",
    "images/grey.jpg",
    "images/orientation-6.jpg",
    "images/odd-333x7.jpg",
    "images/cmyk.jpg",
    "images/cmyk-odd-restart.jpg",
    "goldens/preprocess/jpeg-variants/97x61-rgb422-base-rst1.jpg",
    "goldens/preprocess/jpeg-variants/97x61-ycck444-base-rst3.jpg",
    "goldens/preprocess/jpeg-variants/97x61-ycck420-prog-rst1.jpg",
    "goldens/preprocess/jpeg-variants/33x31-cmyk422-prog-rst3.jpg",
  ],
  png: ["images/rgb.png", "images/interlaced.png", "images/palette-4bit.png", "images/grey-16bit.png", "images/grey-alpha.png"],
  webp: ["images/lossy.webp", "images/lossless.webp", "images/lossy-alpha.webp", "images/orientation-3.webp"],
  gif: ["images/animated.gif", "images/interlaced.gif", "images/transparent.gif"],
  bmp: ["images/rgb-24bit.bmp", "images/palette-8bit.bmp", "images/bilevel-1bit.bmp", "images/rgba-32bit.bmp"],
};

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  const kind = int(6);
  if (kind === 0) return src.slice(0, int(src.length)); // truncation
  const out = src.slice();
  // Mutations favour the first 128 bytes, where headers (sizes, chunk lengths, tables) live.
  const pos = () => (rand() < 0.6 ? int(Math.min(128, out.length)) : int(out.length));
  const n = 1 + int(8);
  for (let i = 0; i < n; i++) {
    const p = pos();
    if (kind === 1) out[p] = (out[p] as number) ^ (1 << int(8));
    else if (kind === 2) out[p] = int(256);
    else if (kind === 3) out[p] = INTERESTING[int(INTERESTING.length)] as number;
    else if (kind === 4) out[p] = (out[p] as number) + (rand() < 0.5 ? 1 : -1);
  }
  if (kind === 5) {
    // Splice: delete or duplicate a run, then truncate sometimes.
    const a = int(out.length);
    const b = Math.min(out.length, a + int(64));
    const spliced = rand() < 0.5 ? new Uint8Array([...out.subarray(0, a), ...out.subarray(b)]) : new Uint8Array([...out.subarray(0, b), ...out.subarray(a)]);
    return rand() < 0.3 ? spliced.slice(0, int(spliced.length)) : spliced;
  }
  return out;
}

beforeAll(async () => {
  await initNodeDecoders();
});

/**
 * Feeds PER_FORMAT mutants of `seeds` to `run`, which returns a problem string for a malformed success. Returns the
 * outcome counts, the slowest file in ms, and what escaped: untyped errors, other codes and malformed outputs.
 */
async function fuzz(seeds: Uint8Array[], seed: number, run: (bytes: Uint8Array) => Promise<string | undefined>) {
  const rand = rng(seed);
  const outcomes: Record<string, number> = {};
  const escaped: string[] = [];
  let slowest = 0;
  for (let i = 0; i < PER_FORMAT; i++) {
    const bytes = mutate(seeds[i % seeds.length] as Uint8Array, rand);
    const t0 = performance.now();
    try {
      const problem = await run(bytes);
      if (problem !== undefined) escaped.push(`#${i}: ${problem}`);
      outcomes["ok"] = (outcomes["ok"] ?? 0) + 1;
    } catch (err) {
      if (hasErrorCode(err, "IMAGE_DECODE_FAILED", "IMAGE_TOO_LARGE", "IMAGE_UNSUPPORTED_FORMAT")) {
        outcomes[err.code] = (outcomes[err.code] ?? 0) + 1;
      } else {
        escaped.push(`#${i}: ${isSiglipError(err) ? err.code : "untyped"} ${String(err)}`);
      }
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  return { outcomes, escaped, slowest };
}

describe("fuzz: mutated and truncated files", () => {
  for (const [format, files] of Object.entries(SEEDS)) {
    it(`${format}: ${PER_FORMAT} mutants, only typed errors`, async () => {
      const { outcomes, escaped, slowest } = await fuzz(files.map(readFixture), 0x5eed + format.length * 7919 + (format.charCodeAt(0) << 8), async (bytes) => {
        const img = await decodeImage(bytes, { limits: LIMITS });
        const ok = img.channels === 3 && img.data.length === img.width * img.height * 3 && img.width >= 1 && img.height >= 1;
        return ok ? undefined : `malformed image ${img.width}x${img.height}`;
      });
      console.log(`[preprocess fuzz] ${format}: ${PER_FORMAT} files -> ${JSON.stringify(outcomes)}; slowest ${slowest.toFixed(1)} ms`);
      expect(escaped.slice(0, 10)).toEqual([]);
    }, 300_000);
  }

  // The same JPEG seeds through the streaming route (pure-TS decoder rows -> resize), which decodeImage does not use.
  it(`jpeg, pure-TS streaming route: ${PER_FORMAT} mutants, only typed errors`, async () => {
    const { outcomes, escaped, slowest } = await fuzz((SEEDS["jpeg"] ?? []).map(readFixture), 0x75ee, async (bytes) => {
      const pv = await preprocessFixRes(bytes, { size: 16, limits: LIMITS, jpegDecoder: "ts" });
      return pv.data.length !== 3 * 16 * 16 || pv.data.some((v) => !(v >= -1 && v <= 1)) ? "malformed tensor" : undefined;
    });
    console.log(`[preprocess fuzz] jpeg (TS streaming): ${PER_FORMAT} files -> ${JSON.stringify(outcomes)}; slowest ${slowest.toFixed(1)} ms`);
    expect(escaped.slice(0, 10)).toEqual([]);
  }, 300_000);
});
