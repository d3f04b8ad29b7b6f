import { describe, expect, it } from "vitest";
import { createMatmulKernel } from "../src/node/index.ts";

/** float64 reference of A · Bᵀ. */
function reference(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let d = 0; d < k; d++) c[i * n + j]! += a[i * k + d]! * b[j * k + d]!;
  return c;
}

describe("onnxruntime-node MatMul kernel (Gemm, transB)", () => {
  it("computes A · Bᵀ on ragged shapes and on views into larger buffers", async () => {
    const kernel = await createMatmulKernel({ threads: 2 });
    expect(kernel.name).toMatch(/MLAS, 2 threads/);
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [37, 129, 768], [256, 300, 64]] as const) {
      const big = Float32Array.from({ length: (m + 2) * k }, next);
      const a = big.subarray(2 * k); // a view with an offset, as the streamed retrieval passes tiles
      const b = Float32Array.from({ length: n * k }, next);
      const got = await kernel.multiplyTransposed(a, m, b, n, k);
      const want = reference(a, m, b, n, k);
      expect(got.length).toBe(m * n);
      let worst = 0;
      for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-5 * Math.sqrt(k)); // float32 accumulation of k products of |x| <= 0.25
    }
    await kernel.close();
  });

  it("rejects short inputs and bad thread counts with typed errors", async () => {
    const kernel = await createMatmulKernel({ threads: 1 });
    await expect(kernel.multiplyTransposed(new Float32Array(3), 2, new Float32Array(4), 2, 2)).rejects.toMatchObject({ code: "SHAPE_MISMATCH" });
    await kernel.close();
    await expect(createMatmulKernel({ threads: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
