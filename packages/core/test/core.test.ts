import { describe, expect, it } from "vitest";
import {
  antialiasBilinearWeights,
  assertShape,
  concatBytes,
  cosine,
  decodeNpy,
  encodeNpy,
  fail,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  getCheckpoint,
  hasErrorCode,
  isSiglipError,
  l2Normalize,
  meanNormalized,
  SiglipError,
  Sha256,
  tensor,
} from "../src/index.ts";

describe("errors", () => {
  it("are recognised by brand, not by class identity", () => {
    const err = new SiglipError("IMAGE_TOO_LARGE", "too big", { details: { pixels: 5 } });
    expect(isSiglipError(err)).toBe(true);
    // A copy from another bundle: same brand, different class.
    const foreign = Object.assign(new Error("x"), { code: "NOT_FOUND", [Symbol.for("siglip-edge.error")]: true });
    expect(isSiglipError(foreign)).toBe(true);
    expect(isSiglipError(new Error("plain"))).toBe(false);
    expect(hasErrorCode(err, "IMAGE_TOO_LARGE", "NOT_FOUND")).toBe(true);
    expect(hasErrorCode(err, "NOT_FOUND")).toBe(false);
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: "IMAGE_TOO_LARGE", message: "too big", details: { pixels: 5 } });
    expect(() => fail("INTERNAL", "boom")).toThrow("boom");
  });
});

describe("registry", () => {
  it("finds checkpoints and names unknown ones", () => {
    const g = getCheckpoint("google/siglip2-giant-opt-patch16-384");
    expect(g.text.hiddenSize).toBe(1152);
    expect(g.text.projectionSize).toBe(1536);
    expect(g.embedDim).toBe(1536);
    expect(getCheckpoint("google/siglip2-so400m-patch14-384").numPositions).toBe(27 * 27);
    expect(getCheckpoint("google/siglip2-base-patch16-naflex").imageSize).toBeNull();
    let code;
    try {
      getCheckpoint("google/siglip-base-patch16-224");
    } catch (e) {
      code = isSiglipError(e) ? e.code : undefined;
    }
    expect(code).toBe("UNKNOWN_CHECKPOINT");
  });
});

describe("tensors", () => {
  it("checks shapes with named messages", () => {
    expect(() => assertShape("pixel_values", [1, 3, 224, 224], [null, 3, 224, 224])).not.toThrow();
    expect(() => assertShape("pixel_values", [1, 3, 224], [null, 3, 224, 224])).toThrow("pixel_values: expected shape [?, 3, 224, 224], got [1, 3, 224]");
    expect(() => tensor("float32", [2, 2], new Float32Array(3))).toThrow(/needs 4/);
  });

  it("joins byte chunks in order, views of one buffer included", () => {
    const base = Uint8Array.of(9, 1, 2, 3, 9);
    expect([...concatBytes([Uint8Array.of(7), base.subarray(1, 4), new Uint8Array(0), Uint8Array.of(8)])]).toEqual([7, 1, 2, 3, 8]);
    expect(concatBytes([]).byteLength).toBe(0);
  });

  it("converts float16 with round-to-nearest-even", () => {
    // Values chosen by hand: 1 = 0x3c00, -2 = 0xc000, 65504 = max half 0x7bff, 1 + 2^-11 is a tie -> even 0x3c00,
    // 1 + 3*2^-11 is a tie -> even 0x3c02, 2^-24 = smallest subnormal 0x0001, 1e6 overflows to +inf 0x7c00.
    const cases: [number, number][] = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -24, 0x0001], [1e6, 0x7c00], [0, 0]];
    for (const [v, bits] of cases) expect(float32ToFloat16Bits(v), String(v)).toBe(bits);
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });
});

describe("embedding maths", () => {
  it("normalises, compares and ensembles by hand-checked values", () => {
    expect(Array.from(l2Normalize([3, 4]))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 1], [2, 2])).toBeCloseTo(1, 12);
    // mean of unit vectors (1,0) and (0,1) is (0.5,0.5); renormalised: (1/sqrt2, 1/sqrt2).
    expect(Array.from(meanNormalized([[2, 0], [0, 5]]))).toEqual([Math.fround(Math.SQRT1_2), Math.fround(Math.SQRT1_2)]);
    expect(() => l2Normalize([0, 0])).toThrow(/norm 0/);
  });
});

describe(".npy", () => {
  it("round-trips every dtype and rejects what it cannot read", () => {
    const t = tensor("int64", [2, 3], BigInt64Array.from([1n, -2n, 3n, 4n, 5n, 2n ** 40n]));
    const back = decodeNpy(encodeNpy(t));
    expect(back.dims).toEqual([2, 3]);
    expect(Array.from(back.data as BigInt64Array)).toEqual(Array.from(t.data));
    const bytes = encodeNpy(tensor("float32", [4], Float32Array.from([1, 2, 3, 4])));
    // The header (magic + version + length + dict + newline) is padded to a multiple of 64 bytes.
    expect((bytes.length - 16) % 64).toBe(0);
    expect(() => decodeNpy(bytes.subarray(0, bytes.length - 1))).toThrow(/data section/);
    expect(() => decodeNpy(new Uint8Array(20))).toThrow(/magic/);
    // A Node Buffer from Node's shared pool (non-zero byteOffset), as readFile returns for small files.
    const pooled = Buffer.from(bytes);
    const inPool = Buffer.concat([Buffer.from("xyz"), pooled]).subarray(3);
    expect(inPool.byteOffset).toBeGreaterThan(0);
    expect(Array.from(decodeNpy(inPool).data as Float32Array)).toEqual([1, 2, 3, 4]);
  });
});

describe("antialias weights", () => {
  it("sum to one per output and reduce to identity at equal size", () => {
    const W = antialiasBilinearWeights(16, 7);
    for (let i = 0; i < 7; i++) expect(W.subarray(i * 16, i * 16 + 16).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const I = antialiasBilinearWeights(4, 4);
    expect(Array.from(I)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });
});

describe("Sha256", () => {
  it("equals node:crypto's SHA-256 at every padding boundary, fed in uneven chunks", async () => {
    const { createHash } = await import("node:crypto");
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
      const h = new Sha256();
      for (let i = 0; i < n; ) {
        const k = Math.min(n - i, 1 + (i % 97));
        h.update(data.subarray(i, i + k));
        i += k;
      }
      expect(h.hex(), `length ${n}`).toBe(createHash("sha256").update(data).digest("hex"));
    }
  });
});
