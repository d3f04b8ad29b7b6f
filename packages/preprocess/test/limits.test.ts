/**
 * Size caps are enforced from the header, before pixel buffers exist; bad input gets the documented error codes;
 * a WASM decoder failure does not poison later decodes.
 */
import { createHash } from "node:crypto";
import { zlibSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import { hasErrorCode, type ErrorCode } from "@siglip-edge/core";
import { decodeImage } from "../src/index.ts";
import { initNodeDecoders } from "../src/node/index.ts";
import { goldens, readFixture } from "./golden-data.ts";

beforeAll(async () => {
  await initNodeDecoders();
});

async function code(bytes: Uint8Array, limits = {}): Promise<ErrorCode | "ok"> {
  try {
    await decodeImage(bytes, { limits });
    return "ok";
  } catch (err) {
    if (hasErrorCode(err, "IMAGE_DECODE_FAILED", "IMAGE_TOO_LARGE", "IMAGE_UNSUPPORTED_FORMAT")) return err.code;
    throw err;
  }
}

function be32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

/** A syntactically valid PNG header claiming `w x h` pixels, followed by a tiny zlib stream. */
function pngClaiming(w: number, h: number, idat: Uint8Array = zlibSync(new Uint8Array(16))): Uint8Array {
  const chunk = (type: string, data: number[] | Uint8Array) => [...be32(data.length), ...Array.from(type, (c) => c.charCodeAt(0)), ...data, 0, 0, 0, 0];
  return new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk("IHDR", [...be32(w), ...be32(h), 8, 2, 0, 0, 0]), ...chunk("IDAT", idat), ...chunk("IEND", [])]);
}

describe("decompression-bomb and size limits", () => {
  it("rejects headers announcing too many pixels, for every format, before decoding", async () => {
    const huge = [
      pngClaiming(100_000, 100_000),
      // JPEG: SOI + SOF0 claiming 65535 x 65535, 3 components
      new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xff, 0xff, 0xff, 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xda, 0, 2]),
      // WebP VP8X canvas 16384 x 16384
      new Uint8Array([...Array.from("RIFF", (c) => c.charCodeAt(0)), 30, 0, 0, 0, ...Array.from("WEBPVP8X", (c) => c.charCodeAt(0)), 10, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x3f, 0, 0xff, 0x3f, 0]),
      // GIF logical screen 65535 x 65535 with one image descriptor
      new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 2, 0, 0x3b]),
      // BMP 40-byte header, 30000 x 30000, 24-bit
      new Uint8Array([0x42, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 0x30, 0x75, 0, 0, 0x30, 0x75, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, ...new Array(20).fill(0)]),
    ];
    for (const b of huge) expect(await code(b)).toBe("IMAGE_TOO_LARGE");
  });

  it("enforces the caller's pixel, side and byte caps", async () => {
    // 3000 x 3000 of zeros: 27 MB of pixels from a few kB of zlib data, refused under a 1 MP cap.
    const rows = new Uint8Array(3000 * (1 + 3000 * 3));
    const bomb = pngClaiming(3000, 3000, zlibSync(rows, { level: 9 }));
    expect(bomb.length).toBeLessThan(100_000);
    expect(await code(bomb, { maxPixels: 1_000_000 })).toBe("IMAGE_TOO_LARGE");
    expect(await code(bomb)).toBe("ok"); // within the default cap it decodes
    expect(await code(readFixture("images/tall-1x4000.png"), { maxDimension: 2000 })).toBe("IMAGE_TOO_LARGE");
    expect(await code(readFixture("images/rgb.png"), { maxEncodedBytes: 1000 })).toBe("IMAGE_TOO_LARGE");
  });
});

describe("bad input", () => {
  it("maps unknown, empty, truncated and corrupt files to typed errors", async () => {
    expect(await code(new Uint8Array(0))).toBe("IMAGE_UNSUPPORTED_FORMAT");
    expect(await code(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"))).toBe("IMAGE_UNSUPPORTED_FORMAT");
    expect(await code(new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]))).toBe("IMAGE_UNSUPPORTED_FORMAT"); // TIFF
    for (const rel of ["images/rgb.png", "photos/sklearn/china.jpg", "images/lossy.webp", "images/interlaced.gif", "images/rgb-24bit.bmp"]) {
      const full = readFixture(rel);
      expect(await code(full.slice(0, Math.floor(full.length / 2))), rel).toBe("IMAGE_DECODE_FAILED");
    }
  });

  it("keeps decoding correctly after a WASM decoder failure", async () => {
    const china = readFixture("photos/sklearn/china.jpg");
    expect(await code(china.slice(0, 5000))).toBe("IMAGE_DECODE_FAILED");
    expect(await code(readFixture("images/lossy.webp").slice(0, 300))).toBe("IMAGE_DECODE_FAILED");
    const img = await decodeImage(china);
    expect(createHash("sha256").update(img.data).digest("hex")).toBe(goldens.images["photos/sklearn/china.jpg"]?.rgb);
  });
});
