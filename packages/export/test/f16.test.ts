import { describe, expect, it } from "vitest";
import { float32ToFloat16Bits } from "@siglip-edge/core";
import { toF16 } from "../src/graphs/layers.ts";
import { mulberry32 } from "../src/generate.ts";

describe("toF16", () => {
  it("matches core's float32ToFloat16Bits on normals, subnormals, ties, overflow, inf and NaN", () => {
    const rnd = mulberry32(9);
    const special = [0, -0, 1, -1, 65504, 65520, 1e6, -1e6, 6.1e-5, 5.96e-8, 2.98e-8, 1e-9, Infinity, -Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const xs = new Float32Array(special.length + 200_000);
    xs.set(special);
    for (let i = special.length; i < xs.length; i++) xs[i] = (rnd() - 0.5) * 2 ** (rnd() * 40 - 25);
    const got = toF16(xs);
    const want = Uint16Array.from(xs, (x) => float32ToFloat16Bits(x));
    let mismatches = 0;
    for (let i = 0; i < xs.length; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches).toBe(0);
  });
});
