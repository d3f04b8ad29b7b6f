/**
 * The kernels file (format.ts / pack.ts) and KernelTower: pack -> header -> blocks round trip, a stage reads only
 * its blocks, stages chained equal the whole tower bit for bit, bad files fail with typed errors. Numerical parity
 * with the ONNX graphs is tested in packages/runtime (test/kernels-engine.test.ts, against onnxruntime-web).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "@siglip-edge/core";
import { loadKernels } from "../src/node.ts";
import type { Kernels } from "../src/kernels.ts";
import { blockLayout, KERNELS_FORMAT, parseHeader, readKernelsHeader, type KernelsTowerConfig, type RangeReader } from "../src/format.ts";
import { concatChunks, packTower, type TensorReader } from "../src/pack.ts";
import { KernelTower } from "../src/tower.ts";
import { rng } from "./reference.ts";

let K: Kernels;
beforeAll(async () => {
  K = await loadKernels();
});

const TEXT: KernelsTowerConfig = { kind: "text", hidden: 32, heads: 2, intermediate: 48, layers: 3, eps: 1e-6, maxPositions: 10, projection: 24 };
const FIXRES: KernelsTowerConfig = { kind: "vision-fixres", hidden: 32, heads: 2, intermediate: 40, layers: 2, eps: 1e-6, channels: 3, patchSize: 4, imageSize: 13, numPositions: 9 };
const NAFLEX: KernelsTowerConfig = { kind: "vision-naflex", hidden: 16, heads: 2, intermediate: 24, layers: 2, eps: 1e-6, channels: 3, patchSize: 2 };

/** Random tensors with the Hugging Face names and shapes of a tower of config `c`. */
function tensors(c: KernelsTowerConfig, seed: number): TensorReader {
  const D = c.hidden;
  const F = c.intermediate;
  const r = rng(seed);
  const cache = new Map<string, Float32Array>();
  const size = (name: string): [number, number] => {
    const n = name.replace(/^(text|vision)_model\./, "");
    if (n.endsWith("layer_norm1.weight") || n.endsWith("layer_norm2.weight") || /(post_layernorm|final_layer_norm|head\.layernorm)\.weight$/.test(n)) return [D, 1];
    if (/(layer_norm[12]|post_layernorm|final_layer_norm|head\.layernorm)\.bias$/.test(n)) return [D, 0.1];
    if (n === "embeddings.patch_embedding.weight") return [D * (c.channels as number) * (c.patchSize as number) ** 2, 0.1];
    if (n === "embeddings.position_embedding.weight") return [(c.kind === "text" ? (c.maxPositions as number) : (c.numPositions as number)) * D, 0.5];
    if (n === "head.weight") return [(c.projection as number) * D, 0.2];
    if (n === "head.bias") return [c.projection as number, 0.1];
    if (n === "head.probe") return [D, 1];
    if (n === "head.attention.in_proj_weight") return [3 * D * D, 0.2];
    if (n === "head.attention.in_proj_bias") return [3 * D, 0.1];
    if (/fc1\.weight$/.test(n)) return [F * D, 0.2];
    if (/fc1\.bias$/.test(n)) return [F, 0.1];
    if (/fc2\.weight$/.test(n)) return [D * F, 0.2];
    if (/\.weight$/.test(n)) return [D * D, 0.2];
    if (/\.bias$/.test(n) || n === "embeddings.patch_embedding.bias") return [D, 0.1];
    throw new Error(`no shape for ${name}`);
  };
  return async (name) => {
    let t = cache.get(name);
    if (t === undefined) {
      const [len, s] = size(name);
      t = Float32Array.from({ length: len }, () => (name.endsWith("norm1.weight") || name.endsWith("norm2.weight") || /layernorm\.weight|layer_norm\.weight/.test(name) ? 1 : 0) + s * r.normal());
      cache.set(name, t);
    }
    return t;
  };
}

/** A reader over bytes that records the ranges it served. */
function reader(bytes: Uint8Array, log: [number, number][] = []): RangeReader {
  return async (offset, length) => {
    log.push([offset, length]);
    return bytes.slice(offset, Math.min(bytes.byteLength, offset + length));
  };
}

async function packed(c: KernelsTowerConfig, seed = 1): Promise<Uint8Array> {
  return concatChunks(await packTower(c, tensors(c, seed)));
}

function inputsFor(t: KernelTower, B: number, N: number, seed: number) {
  const r = rng(seed);
  const input = Float32Array.from({ length: B * t.inputSize(N) }, () => r.normal());
  const c = t.config;
  if (c.kind !== "vision-naflex") return { input, batch: B, tokens: N };
  const mask = Array.from({ length: B * N }, (_, i) => (i % N < N - 1 - (i >= N ? 2 : 0) ? 1 : 0)); // image 1 has 3 padded patches
  return { input, batch: B, tokens: N, mask, positionEmbeddings: Float32Array.from({ length: B * N * c.hidden }, () => r.normal()) };
}

describe("kernels file", () => {
  it.each([TEXT, FIXRES, NAFLEX])("$kind: header lists 64-aligned blocks of the layout's sizes with their sha256", async (c) => {
    const bytes = await packed(c);
    const h = await readKernelsHeader(reader(bytes), "test");
    expect(h.format).toBe(KERNELS_FORMAT);
    expect(h.config).toEqual(c);
    expect(h.fileBytes).toBe(bytes.byteLength);
    expect(h.blocks.map((b) => b.name)).toEqual(["embed", ...Array.from({ length: c.layers }, (_, i) => `layer.${i}`), "head"]);
    for (const b of h.blocks) {
      expect(b.offset % 64).toBe(0);
      expect(b.bytes).toBe(blockLayout(c, b.name).bytes);
      expect(await sha256Hex(bytes.subarray(b.offset, b.offset + b.bytes))).toBe(b.sha256);
    }
    // the same weights pack to the same bytes; other weights to other bytes
    expect(await packed(c)).toEqual(bytes);
    expect(await packed(c, 2)).not.toEqual(bytes);
  });

  it.each([TEXT, FIXRES, NAFLEX])("$kind: stages read only their blocks and chained equal the whole tower bit for bit", async (c) => {
    const bytes = await packed(c);
    const N = c.kind === "vision-fixres" ? (c.numPositions as number) : 7;
    const B = 2;
    const whole = await KernelTower.load(K, reader(bytes));
    const logs: [number, number][][] = [[], []];
    const s0 = await KernelTower.load(K, reader(bytes, logs[0]), { stage: { index: 0, count: 2 } });
    const s1 = await KernelTower.load(K, reader(bytes, logs[1]), { stage: { index: 1, count: 2 } });
    const h = parseHeader(bytes.subarray(16, 16 + new DataView(bytes.buffer).getUint32(8, true)), "test");
    const at = (name: string) => h.blocks.find((b) => b.name === name)?.offset;
    const split = Math.floor(c.layers / 2);
    const read0 = new Set(logs[0]?.map(([o]) => o));
    const read1 = new Set(logs[1]?.map(([o]) => o));
    expect(read0.has(at("embed") as number) && !read0.has(at("head") as number) && !read0.has(at(`layer.${split}`) as number)).toBe(true);
    expect(!read1.has(at("embed") as number) && read1.has(at("head") as number) && read1.has(at(`layer.${split}`) as number)).toBe(true);
    expect([s0.start, s0.end, s1.start, s1.end]).toEqual([0, split, split, c.layers]);
    expect(s0.weightBytes + s1.weightBytes).toBe(whole.weightBytes);

    const inp = inputsFor(whole, B, N, 3);
    const ref = new Float32Array(B * whole.outputSize(N));
    whole.forward(inp, ref);
    const mid = new Float32Array(B * s0.outputSize(N));
    s0.forward(inp, mid);
    const out = new Float32Array(ref.length);
    s1.forward({ ...inp, input: mid }, out);
    expect(out).toEqual(ref);
    expect(ref.every(Number.isFinite)).toBe(true);
    expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(0);
  });

  it("NaFlex: padded patches do not change the real patches' pooled output", async () => {
    const bytes = await packed(NAFLEX);
    const t = await KernelTower.load(K, reader(bytes));
    const N = 6;
    const inp = inputsFor(t, 1, N, 4);
    const mask = [1, 1, 1, 1, 0, 0];
    const a = new Float32Array(16);
    t.forward({ ...inp, mask }, a);
    const other = inp.input.slice();
    other.fill(5, 4 * 12); // change the padded patches' pixels and positions
    const pos = (inp.positionEmbeddings as Float32Array).slice();
    pos.fill(-3, 4 * 16);
    const b = new Float32Array(16);
    t.forward({ ...inp, input: other, positionEmbeddings: pos, mask }, b);
    expect(b).toEqual(a);
    const c = new Float32Array(16);
    t.forward({ ...inp, input: other, positionEmbeddings: pos, mask: [1, 1, 1, 1, 1, 1] }, c);
    expect(c).not.toEqual(a);
  });

  it("bad files: not a kernels file, another version, a header that is not JSON or lies about a block, truncated, corrupted", async () => {
    const bytes = await packed(TEXT);
    const bad = (f: (b: Uint8Array) => void): Uint8Array => {
      const b = bytes.slice();
      f(b);
      return b;
    };
    await expect(KernelTower.load(K, reader(bad((b) => (b[0] = 0))))).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    await expect(KernelTower.load(K, reader(bad((b) => (b[4] = 2))))).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    await expect(KernelTower.load(K, reader(bad((b) => (b[16] = 0x5b))))).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    const json = new TextDecoder().decode(bytes.subarray(0, 4096));
    const at = json.indexOf('"layers":3');
    await expect(KernelTower.load(K, reader(bad((b) => b.set(new TextEncoder().encode('"layers":2'), at))))).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    await expect(KernelTower.load(K, reader(bytes.subarray(0, bytes.byteLength - 1)))).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
    await expect(KernelTower.load(K, reader(bad((b) => (b[b.length - 1] = (b[b.length - 1] as number) ^ 1))))).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
    await expect(KernelTower.load(K, reader(bytes), { stage: { index: 3, count: 3 } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const t = await KernelTower.load(K, reader(bytes));
    expect(() => t.forward({ input: new Float32Array(5), batch: 1, tokens: 4 }, new Float32Array(24))).toThrow(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
    expect(() => t.forward({ input: new Float32Array(11 * 32), batch: 1, tokens: 11 }, new Float32Array(24))).toThrow(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
  });
});
