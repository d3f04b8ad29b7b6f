/**
 * The packed kernels file, format "siglip-kernels-w8a12" v1: one SigLIP tower's weights exactly as the kernels load
 * them, so loading is one copy per block from a ranged read into WebAssembly memory, and a stage reads only its
 * layers' blocks.
 *
 * Layout (little-endian):
 * - bytes 0-15: magic `SGKW` (4 bytes), u32 version (1), u32 header length J, u32 0;
 * - bytes 16 .. 16 + J: the header, UTF-8 JSON `KernelsHeader` (tower kind, shape, blocks with offset / bytes /
 *   sha256);
 * - blocks, each starting on a 64-byte boundary of the file, in order `embed`, `layer.0` ... `layer.{L-1}`, `head`.
 *
 * Inside a block every part starts on a 64-byte boundary (`blockLayout` gives the offsets): a linear is int8 panels,
 * f32 column scales, f32 bias (`linearLayout`); fp32 tensors are plain row-major. Blocks:
 * - `embed`: FixRes `patch` (K = C·P·P in conv weight order c, ky, kx -> D) and `pos` [numPositions, D]; NaFlex
 *   `patch` (K = the patch vector -> D); text `pos` [maxPositions, D].
 * - `layer.i`: `qkv` (D -> 3D, LayerNorm 1 folded, attention scale in Q), `out` (D -> D), `fc1` (D -> F, LayerNorm 2
 *   folded), `fc2` (F -> D).
 * - `head`: vision `kv` (D -> 2D, the post-LayerNorm folded into the MAP head's key and value projections), `probeQ`
 *   [D] fp32 (the probe's query projection, computed in float64 and scaled by 1/sqrt(hd)), `out` (D -> D), `fc1`
 *   (D -> F, the head LayerNorm folded), `fc2` (F -> D); text `head` (D -> P, the final LayerNorm folded).
 * @module
 */
import { SiglipError, type Family, type TextConfig, type VisionConfig } from "@siglip-edge/core";
import { ALIGN, alignUp } from "./arena.ts";
import { linearLayout } from "./weights.ts";

export const KERNELS_FORMAT = "siglip-kernels-w8a12";
export const KERNELS_VERSION = 1;
/** File magic, bytes 0-3. */
export const KERNELS_MAGIC = "SGKW";
/** Bytes before the JSON header. */
export const PREFIX_BYTES = 16;

export type TowerKind = "vision-fixres" | "vision-naflex" | "text";

/** A tower's shape, as the header stores it. */
export interface KernelsTowerConfig {
  kind: TowerKind;
  hidden: number;
  heads: number;
  intermediate: number;
  layers: number;
  eps: number;
  /** vision: channels, patch side; FixRes: image side and position rows ((S / P)^2) */
  channels?: number;
  patchSize?: number;
  imageSize?: number;
  numPositions?: number;
  /** text: position table rows and head width */
  maxPositions?: number;
  projection?: number;
}

/**
 * The kernels config of a checkpoint's or bundle's tower (core's sizes): what `siglip convert` packs, and what a
 * loader expects the header of that tower's file to say.
 */
export function towerConfigOf(family: Family, sizes: { text: TextConfig; vision: VisionConfig }, tower: "vision" | "text"): KernelsTowerConfig {
  if (tower === "text") {
    const t = sizes.text;
    return { kind: "text", hidden: t.hiddenSize, heads: t.numHeads, intermediate: t.intermediateSize, layers: t.numLayers, eps: t.layerNormEps, maxPositions: t.maxPositions, projection: t.projectionSize };
  }
  const v = sizes.vision;
  const common = { hidden: v.hiddenSize, heads: v.numHeads, intermediate: v.intermediateSize, layers: v.numLayers, eps: v.layerNormEps, channels: v.numChannels, patchSize: v.patchSize };
  return family === "fixres" ? { kind: "vision-fixres", ...common, imageSize: v.imageSize ?? 0, numPositions: v.numPositions } : { kind: "vision-naflex", ...common };
}

/** True when two tower configs have the same fields with the same values. */
export function sameTowerConfig(a: KernelsTowerConfig, b: KernelsTowerConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof KernelsTowerConfig)[]);
  return [...keys].every((k) => a[k] === b[k]);
}

export interface KernelsBlock {
  name: string;
  /** from the start of the file, a multiple of 64 */
  offset: number;
  bytes: number;
  /** lowercase hex SHA-256 of the block's bytes */
  sha256: string;
}

export interface KernelsHeader {
  format: typeof KERNELS_FORMAT;
  version: number;
  config: KernelsTowerConfig;
  blocks: KernelsBlock[];
  /** total bytes of the file */
  fileBytes: number;
}

/** One part of a block: a packed linear (K -> N) or an fp32 tensor of `floats` values. */
export type BlockPart = { kind: "linear"; offset: number; k: number; n: number } | { kind: "f32"; offset: number; floats: number };

/** Block names of a tower, in file order. */
export function blockNames(c: KernelsTowerConfig): string[] {
  return ["embed", ...Array.from({ length: c.layers }, (_, i) => `layer.${i}`), "head"];
}

/** Patch vector length C·P·P of a vision tower. */
export function patchDim(c: KernelsTowerConfig): number {
  return need(c.channels, "channels") * need(c.patchSize, "patchSize") ** 2;
}

function need(v: number | undefined, name: string): number {
  if (v === undefined || !Number.isInteger(v) || v < 1) throw new SiglipError("CHECKPOINT_INVALID", `kernels header: config.${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** The parts of block `name` and its byte size (every part 64-byte aligned). */
export function blockLayout(c: KernelsTowerConfig, name: string): { parts: Record<string, BlockPart>; bytes: number } {
  const D = c.hidden;
  const F = c.intermediate;
  const specs: [string, { k: number; n: number } | { floats: number }][] = [];
  if (name === "embed") {
    if (c.kind !== "text") specs.push(["patch", { k: patchDim(c), n: D }]);
    if (c.kind === "vision-fixres") specs.push(["pos", { floats: need(c.numPositions, "numPositions") * D }]);
    if (c.kind === "text") specs.push(["pos", { floats: need(c.maxPositions, "maxPositions") * D }]);
  } else if (/^layer\.\d+$/.test(name) && Number(name.slice(6)) < c.layers) {
    specs.push(["qkv", { k: D, n: 3 * D }], ["out", { k: D, n: D }], ["fc1", { k: D, n: F }], ["fc2", { k: F, n: D }]);
  } else if (name === "head") {
    if (c.kind === "text") specs.push(["head", { k: D, n: need(c.projection, "projection") }]);
    else specs.push(["kv", { k: D, n: 2 * D }], ["probeQ", { floats: D }], ["out", { k: D, n: D }], ["fc1", { k: D, n: F }], ["fc2", { k: F, n: D }]);
  } else {
    throw new SiglipError("CHECKPOINT_INVALID", `kernels header: no block ${name} in a ${c.layers}-layer ${c.kind} tower`);
  }
  const parts: Record<string, BlockPart> = {};
  let at = 0;
  for (const [part, s] of specs) {
    if ("floats" in s) {
      parts[part] = { kind: "f32", offset: at, floats: s.floats };
      at += alignUp(s.floats * 4, ALIGN);
    } else {
      parts[part] = { kind: "linear", offset: at, ...s };
      at += linearLayout(s.k, s.n).bytes;
    }
  }
  return { parts, bytes: at };
}

/** Checks a tower config's fields (integers, D / H a multiple of 8, the kind's own fields). */
export function checkTowerConfig(c: KernelsTowerConfig): void {
  if (c === null || typeof c !== "object" || !["vision-fixres", "vision-naflex", "text"].includes(c.kind)) {
    throw new SiglipError("CHECKPOINT_INVALID", `kernels header: unknown tower kind ${String((c as { kind?: unknown } | null)?.kind)}`);
  }
  for (const f of ["hidden", "heads", "intermediate", "layers"] as const) need(c[f], f);
  if (!(typeof c.eps === "number" && c.eps > 0)) throw new SiglipError("CHECKPOINT_INVALID", `kernels header: eps must be positive`);
  if ((c.hidden / c.heads) % 8 !== 0) throw new SiglipError("CHECKPOINT_INVALID", `kernels header: hidden ${c.hidden} / heads ${c.heads} must be a multiple of 8`);
  for (const n of blockNames(c)) blockLayout(c, n); // the kind's own fields
  if (c.kind === "vision-fixres" && need(c.numPositions, "numPositions") !== Math.floor(need(c.imageSize, "imageSize") / need(c.patchSize, "patchSize")) ** 2) {
    throw new SiglipError("CHECKPOINT_INVALID", `kernels header: ${c.numPositions} positions do not match image ${c.imageSize} / patch ${c.patchSize}`);
  }
}

/** Encodes the 16-byte prefix and the header, padded with zeros to the first block's offset. */
export function encodeHeader(h: KernelsHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(firstBlockOffset(json.byteLength));
  out.set(new TextEncoder().encode(KERNELS_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, KERNELS_VERSION, true);
  dv.setUint32(8, json.byteLength, true);
  out.set(json, PREFIX_BYTES);
  return out;
}

/** Offset of the first block for a header of `jsonBytes`. */
export function firstBlockOffset(jsonBytes: number): number {
  return alignUp(PREFIX_BYTES + jsonBytes, ALIGN);
}

/** Reads `length` bytes at `offset` of a kernels file (a ranged GET, a file read). */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

/** Parses the prefix (16 bytes); returns the header's JSON length. */
export function parsePrefix(prefix: Uint8Array, where: string): number {
  if (prefix.byteLength < PREFIX_BYTES) throw new SiglipError("CHECKPOINT_INVALID", `${where}: ${prefix.byteLength} bytes, too short for a kernels file`);
  const magic = new TextDecoder().decode(prefix.subarray(0, 4));
  const dv = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES);
  if (magic !== KERNELS_MAGIC) throw new SiglipError("CHECKPOINT_INVALID", `${where} is not a ${KERNELS_FORMAT} file (magic ${JSON.stringify(magic)})`);
  const version = dv.getUint32(4, true);
  if (version !== KERNELS_VERSION) throw new SiglipError("CHECKPOINT_INVALID", `${where}: ${KERNELS_FORMAT} version ${version}, this reader knows ${KERNELS_VERSION}`);
  const len = dv.getUint32(8, true);
  if (len < 2 || len > 1 << 24) throw new SiglipError("CHECKPOINT_INVALID", `${where}: header length ${len} is out of range`);
  return len;
}

/** Parses and checks the header: format, config, the block list against `blockLayout` (names, sizes, offsets). */
export function parseHeader(json: Uint8Array, where: string): KernelsHeader {
  let h: KernelsHeader;
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json)) as KernelsHeader;
  } catch (cause) {
    throw new SiglipError("CHECKPOINT_INVALID", `${where}: the kernels header is not JSON`, { cause });
  }
  if (h === null || typeof h !== "object" || h.format !== KERNELS_FORMAT || h.version !== KERNELS_VERSION || !Array.isArray(h.blocks)) {
    throw new SiglipError("CHECKPOINT_INVALID", `${where}: not a ${KERNELS_FORMAT} v${KERNELS_VERSION} header`);
  }
  checkTowerConfig(h.config);
  const names = blockNames(h.config);
  if (h.blocks.length !== names.length) throw new SiglipError("CHECKPOINT_INVALID", `${where}: ${h.blocks.length} blocks, a ${h.config.layers}-layer tower has ${names.length}`);
  let at = firstBlockOffset(json.byteLength);
  h.blocks.forEach((b, i) => {
    const want = blockLayout(h.config, names[i] as string).bytes;
    if (b.name !== names[i] || b.offset !== at || b.bytes !== want || typeof b.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(b.sha256)) {
      throw new SiglipError("CHECKPOINT_INVALID", `${where}: block ${i} is ${JSON.stringify(b)}, expected ${names[i]} of ${want} bytes at ${at}`);
    }
    at = alignUp(at + b.bytes, ALIGN);
  });
  if (h.fileBytes !== (h.blocks.at(-1) as KernelsBlock).offset + (h.blocks.at(-1) as KernelsBlock).bytes) {
    throw new SiglipError("CHECKPOINT_INVALID", `${where}: fileBytes ${h.fileBytes} does not match the blocks`);
  }
  return h;
}

/** Reads and checks a kernels file's header (two ranged reads). */
export async function readKernelsHeader(read: RangeReader, where: string): Promise<KernelsHeader> {
  const prefix = await read(0, PREFIX_BYTES);
  const len = parsePrefix(prefix, where);
  const json = await read(PREFIX_BYTES, len);
  if (json.byteLength !== len) throw new SiglipError("CHECKPOINT_INVALID", `${where}: header truncated (${json.byteLength} of ${len} bytes)`);
  return parseHeader(json, where);
}
