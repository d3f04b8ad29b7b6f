/**
 * Convert time: a tower's fp32 checkpoint weights (Hugging Face names) -> a "siglip-kernels-w8a12" file (format.ts).
 * Numerics: every LayerNorm is folded into the linear that follows it in float64 (`foldLayerNorm`) before int8
 * quantisation (per output channel, symmetric); the attention scale 1/sqrt(hd) goes into Q's column scales and bias
 * (f32); the MAP probe's query projection probe · Wq^T + bq is computed once here in float64, scaled, stored fp32.
 * The patch embedding is int8 like every linear (W8A12 at run time); position tables stay fp32.
 * @module
 */
import { sha256Hex, SiglipError } from "@siglip-edge/core";
import { ALIGN, alignUp } from "./arena.ts";
import { blockLayout, blockNames, patchDim, checkTowerConfig, encodeHeader, firstBlockOffset, KERNELS_FORMAT, KERNELS_VERSION, type BlockPart, type KernelsBlock, type KernelsHeader, type KernelsTowerConfig } from "./format.ts";
import { foldLayerNorm, quantizeLayer, type LinearWeights, type NormWeights } from "./layer.ts";
import { linearLayout, quantizeLinear, writeLinear, type Int8Linear } from "./weights.ts";

/** Reads a checkpoint tensor as float32 by its Hugging Face name. */
export type TensorReader = (name: string) => Promise<Float32Array>;

/** The packed file as its chunks (header, then blocks with zero padding between them), and its header. */
export interface PackedTower {
  header: KernelsHeader;
  chunks: Uint8Array[];
  bytes: number;
}

function prefixOf(c: KernelsTowerConfig): string {
  return c.kind === "text" ? "text_model" : "vision_model";
}

function int8(lin: LinearWeights, k: number): Int8Linear {
  return quantizeLinear(lin.weight, k, lin.bias.length, "nk", lin.bias);
}

/** Packs one tower (vision FixRes / NaFlex, or text) from its checkpoint tensors. */
export async function packTower(config: KernelsTowerConfig, read: TensorReader): Promise<PackedTower> {
  checkTowerConfig(config);
  const p = prefixOf(config);
  const D = config.hidden;
  const lin = async (name: string): Promise<LinearWeights> => ({ weight: await read(`${name}.weight`), bias: await read(`${name}.bias`) });
  const norm = lin as (name: string) => Promise<NormWeights>;
  const blocks: Uint8Array[] = [];
  for (const name of blockNames(config)) {
    const { parts, bytes } = blockLayout(config, name);
    const buf = new Uint8Array(bytes);
    const put = (part: string, v: Int8Linear | Float32Array): void => {
      const at = parts[part] as BlockPart;
      if (at.kind === "f32") {
        if (!(v instanceof Float32Array) || v.length !== at.floats) throw new SiglipError("SHAPE_MISMATCH", `${name}.${part}: ${v instanceof Float32Array ? v.length : "a linear"}, expected ${at.floats} floats`);
        new Float32Array(buf.buffer, at.offset, at.floats).set(v);
      } else {
        if (v instanceof Float32Array || v.k !== at.k || v.n !== at.n) throw new SiglipError("SHAPE_MISMATCH", `${name}.${part}: expected a ${at.k} -> ${at.n} linear`);
        writeLinear(v, buf.subarray(at.offset, at.offset + linearLayout(at.k, at.n).bytes));
      }
    };
    if (name === "embed") {
      if (config.kind !== "text") put("patch", int8(await lin(`${p}.embeddings.patch_embedding`), patchDim(config)));
      if (config.kind !== "vision-naflex") put("pos", await read(`${p}.embeddings.position_embedding.weight`));
    } else if (name.startsWith("layer.")) {
      const l = `${p}.encoder.layers.${name.slice(6)}`;
      const q = quantizeLayer({
        hidden: D,
        heads: config.heads,
        intermediate: config.intermediate,
        eps: config.eps,
        layerNorm1: await norm(`${l}.layer_norm1`),
        q: await lin(`${l}.self_attn.q_proj`),
        k: await lin(`${l}.self_attn.k_proj`),
        v: await lin(`${l}.self_attn.v_proj`),
        out: await lin(`${l}.self_attn.out_proj`),
        layerNorm2: await norm(`${l}.layer_norm2`),
        fc1: await lin(`${l}.mlp.fc1`),
        fc2: await lin(`${l}.mlp.fc2`),
      });
      put("qkv", q.qkv);
      put("out", q.out);
      put("fc1", q.fc1);
      put("fc2", q.fc2);
    } else if (config.kind === "text") {
      put("head", int8(foldLayerNorm(await norm(`${p}.final_layer_norm`), await lin(`${p}.head`)), D));
    } else {
      const h = `${p}.head`;
      const inW = await read(`${h}.attention.in_proj_weight`); // [3D, D]: q | k | v rows
      const inB = await read(`${h}.attention.in_proj_bias`);
      if (inW.length !== 3 * D * D || inB.length !== 3 * D) throw new SiglipError("SHAPE_MISMATCH", `${h}.attention.in_proj: expected [${3 * D}, ${D}]`);
      const kv = { weight: inW.subarray(D * D), bias: inB.subarray(D) };
      put("kv", int8(foldLayerNorm(await norm(`${p}.post_layernorm`), kv), D));
      put("probeQ", probeQuery(await read(`${h}.probe`), inW.subarray(0, D * D), inB.subarray(0, D), 1 / Math.sqrt(D / config.heads)));
      put("out", int8(await lin(`${h}.attention.out_proj`), D));
      put("fc1", int8(foldLayerNorm(await norm(`${h}.layernorm`), await lin(`${h}.mlp.fc1`)), D));
      put("fc2", int8(await lin(`${h}.mlp.fc2`), config.intermediate));
    }
    blocks.push(buf);
  }
  return assemble(config, blocks);
}

/** The MAP probe's query: (probe · Wq^T + bq) · scale, float64 sums, stored fp32. */
export function probeQuery(probe: Float32Array, wq: Float32Array, bq: Float32Array, scale: number): Float32Array {
  const D = bq.length;
  if (probe.length !== D || wq.length !== D * D) throw new SiglipError("SHAPE_MISMATCH", `probe has ${probe.length} values, expected ${D}`);
  const q = new Float32Array(D);
  for (let o = 0; o < D; o++) {
    let s = bq[o] as number;
    for (let i = 0; i < D; i++) s += (wq[o * D + i] as number) * (probe[i] as number);
    q[o] = s * scale;
  }
  return q;
}

/** Header (with each block's sha256) + blocks at 64-byte aligned offsets. */
async function assemble(config: KernelsTowerConfig, blocks: Uint8Array[]): Promise<PackedTower> {
  const names = blockNames(config);
  const digests = await Promise.all(blocks.map((b) => sha256Hex(b)));
  // The header's length depends on the offsets it lists: fix the offsets for a header length, retry until stable.
  let jsonBytes = 0;
  for (;;) {
    let at = firstBlockOffset(jsonBytes);
    const list: KernelsBlock[] = blocks.map((b, i) => {
      const e = { name: names[i] as string, offset: at, bytes: b.byteLength, sha256: digests[i] as string };
      at = alignUp(at + b.byteLength, ALIGN);
      return e;
    });
    const last = list.at(-1) as KernelsBlock;
    const header: KernelsHeader = { format: KERNELS_FORMAT, version: KERNELS_VERSION, config, blocks: list, fileBytes: last.offset + last.bytes };
    const head = encodeHeader(header);
    const len = new TextEncoder().encode(JSON.stringify(header)).byteLength;
    if (len !== jsonBytes) {
      jsonBytes = len;
      continue;
    }
    const chunks: Uint8Array[] = [head];
    let pos = head.byteLength;
    list.forEach((b, i) => {
      if (b.offset > pos) chunks.push(new Uint8Array(b.offset - pos));
      chunks.push(blocks[i] as Uint8Array);
      pos = b.offset + b.bytes;
    });
    return { header, chunks, bytes: pos };
  }
}

/** The packed tower as one array (tests; convert writes the chunks). */
export function concatChunks(t: PackedTower): Uint8Array {
  const out = new Uint8Array(t.bytes);
  let at = 0;
  for (const c of t.chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
