import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  cosine,
  dequantizeEmbedding,
  EMBEDDING_TYPES,
  embeddingFromBase64,
  embeddingToBase64,
  embeddingToJson,
  hammingDistance,
  l2Normalize,
  mulberry32,
  quantizeEmbedding,
  type EmbeddingType,
} from "../src/index.ts";

interface Case {
  float: number[];
  int8: number[];
  uint8: number[];
  scale: number;
  binary: number[];
  ubinary: number[];
}
const golden = JSON.parse(readFileSync(new URL("../../../fixtures/goldens/core/embedding-types.json", import.meta.url), "utf8")) as { cases: Case[] };

describe("embedding types against numpy (sentence-transformers' packbits for binary / ubinary; the per-vector int8 rule)", () => {
  it.each(golden.cases.map((c, i) => [i, c.float.length, c] as const))("vector %i (D = %i)", (_, __, c) => {
    const v = Float32Array.from(c.float);
    for (const t of ["int8", "uint8", "binary", "ubinary"] as const) expect(embeddingToJson(quantizeEmbedding(v, t))).toEqual(c[t]);
    const i8 = quantizeEmbedding(v, "int8");
    expect(i8.type === "int8" && i8.scale).toBe(c.scale);
  });
});

/** Seeded unit vectors. */
function vectors(n: number, d: number, seed: number): Float32Array[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => l2Normalize(Float32Array.from({ length: d }, () => r() * 2 - 1)));
}

describe("every type round-trips by its documented rule", () => {
  const [v] = vectors(1, 77, 5) as [Float32Array];
  it.each(EMBEDDING_TYPES.map((t) => [t]))("%s: JSON values and base64 bytes decode to the rule's values", (t: EmbeddingType) => {
    const q = quantizeEmbedding(v, t);
    const scale = "scale" in q ? q.scale : 0;
    const back = embeddingFromBase64(embeddingToBase64(q), t, scale);
    expect(embeddingToJson(back)).toEqual(embeddingToJson(q));
    const json = embeddingToJson(q);
    const decoded = dequantizeEmbedding(q, v.length);
    if (t === "float") expect(Array.from(decoded)).toEqual(Array.from(v));
    if (t === "int8" || t === "uint8") {
      const off = t === "uint8" ? 128 : 0;
      const max = Math.max(...Array.from(v, Math.abs));
      expect(scale).toBe(Math.fround(max / 127));
      json.forEach((x, i) => {
        expect(Number.isInteger(x)).toBe(true);
        expect(x - off).toBeGreaterThanOrEqual(-127);
        expect(x - off).toBeLessThanOrEqual(127);
        expect(Math.abs((x - off) * scale - (v[i] as number))).toBeLessThanOrEqual(scale / 2 + 1e-9);
      });
      expect(cosine(decoded, v)).toBeGreaterThan(0.999);
    }
    if (t === "binary" || t === "ubinary") {
      expect(json).toHaveLength(Math.ceil(v.length / 8));
      const bytes = t === "binary" ? json.map((x) => x + 128) : json;
      v.forEach((x, i) => expect(((bytes[i >> 3] as number) >> (7 - (i % 8))) & 1).toBe(x > 0 ? 1 : 0));
      expect(bytes[bytes.length - 1]! & 0b0000_0111).toBe(0); // 77 = 9 * 8 + 5: three padding bits, zero
      v.forEach((x, i) => expect(decoded[i]).toBe(x > 0 ? 1 : -1));
    }
  });

  it("a zero vector: int8 scale 0 and zeros, all bits 0", () => {
    const z = new Float32Array(16);
    expect(quantizeEmbedding(z, "int8")).toEqual({ type: "int8", values: new Int8Array(16), scale: 0 });
    expect(embeddingToJson(quantizeEmbedding(z, "ubinary"))).toEqual([0, 0]);
    expect(embeddingToJson(quantizeEmbedding(z, "binary"))).toEqual([-128, -128]);
  });

  it("binary Hamming and int8 dot-product ranking agree with float ranking on the top result", () => {
    const docs = vectors(40, 256, 7);
    const queries = docs.slice(0, 8).map((d, k) => {
      const noise = vectors(1, 256, 100 + k)[0] as Float32Array;
      return l2Normalize(d.map((x, i) => x + 0.6 * (noise[i] as number)));
    });
    const top = (scores: number[], best: "max" | "min") => scores.indexOf(best === "max" ? Math.max(...scores) : Math.min(...scores));
    for (const q of queries) {
      const floatTop = top(docs.map((d) => cosine(q, d)), "max");
      const qi = embeddingToJson(quantizeEmbedding(q, "int8"));
      const int8Top = top(docs.map((d) => {
        const di = quantizeEmbedding(d, "int8");
        const dot = embeddingToJson(di).reduce((a, x, i) => a + x * (qi[i] as number), 0);
        return dot * (di.type === "int8" ? di.scale : 0); // the query's scale is common to every doc
      }), "max");
      for (const t of ["binary", "ubinary"] as const) {
        const qb = embeddingToJson(quantizeEmbedding(q, t));
        expect(top(docs.map((d) => hammingDistance(qb, embeddingToJson(quantizeEmbedding(d, t)))), "min")).toBe(floatTop);
      }
      expect(int8Top).toBe(floatTop);
    }
  });
});

describe("NaFlex patch budgets", () => {
  it("the model card's set, capped per deployment, always with the bundle's default", async () => {
    const { allowedPatchCounts, NAFLEX_PATCH_COUNTS } = await import("../src/index.ts");
    expect(allowedPatchCounts(256)).toEqual([...NAFLEX_PATCH_COUNTS]);
    expect(allowedPatchCounts(256, 600)).toEqual([256, 576]);
    expect(allowedPatchCounts(256, 100)).toEqual([256]);
    expect(allowedPatchCounts(64, 256)).toEqual([64, 256]);
  });
});
