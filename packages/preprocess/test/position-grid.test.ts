/** The re-exported NaFlex position-grid resize against torch F.interpolate(antialias=True) (siglip2-spec §6.2). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { maxAbsDiff } from "@siglip-edge/core";
import { antialiasBilinearWeights, resizePositionGrid } from "../src/index.ts";
import { GOLDEN_DIR } from "./golden-data.ts";

interface GridGoldens {
  torch: string;
  G: number;
  D: number;
  grid: string;
  cases: { h: number; w: number; out: string }[];
}

const f32 = (b64: string): Float32Array => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};

describe("position-grid resampling", () => {
  const g = JSON.parse(readFileSync(join(GOLDEN_DIR, "position-grid.json"), "utf8")) as GridGoldens;
  const grid = f32(g.grid);

  it("matches torch antialiased bilinear for every target grid", () => {
    let worst = 0;
    const widthOne: string[] = [];
    for (const c of g.cases) {
      // torch's kernel repeats the first output row when the output width is 1 and the height changes; core
      // reproduces that by default (`torchCompatible`), so these cases are compared like all others.
      if (c.w === 1 && c.h !== g.G && c.h > 1) widthOne.push(`${c.h}x${c.w}`);
      const got = resizePositionGrid(grid, g.G, g.D, c.h, c.w);
      const want = f32(c.out);
      expect(got.length).toBe(want.length);
      const d = maxAbsDiff(got, want);
      worst = Math.max(worst, d);
      // torch accumulates in float32 (two passes, each rounded), the port in float64 and rounds once; on values of
      // magnitude up to ~4 that is at most about ten float32 ulps (2.4e-7 each).
      expect(d, `${c.h}x${c.w}`).toBeLessThan(5e-6);
    }
    console.log(`[preprocess position grid] ${g.cases.length} grids vs torch ${g.torch} (incl. width-1 grids ${widthOne.join(", ")}): max |diff| ${worst.toExponential(2)}`);
    expect(widthOne.length).toBeGreaterThan(0);
  });

  it("has rows that sum to one and reduce to identity at equal sizes", () => {
    for (const [i, o] of [[16, 14], [16, 1], [16, 32], [5, 5]] as const) {
      const W = antialiasBilinearWeights(i, o);
      for (let r = 0; r < o; r++) {
        let s = 0;
        for (let j = 0; j < i; j++) s += W[r * i + j] as number;
        expect(s).toBeCloseTo(1, 12);
      }
      if (i === o) for (let r = 0; r < o; r++) expect(W[r * i + r]).toBe(1);
    }
  });
});
