/// <reference lib="dom" />
// (the WebAssembly types, for every package whose typecheck reaches the kernels; Node and workerd both have WebAssembly)
/**
 * The kernels module instantiated on one `WebAssembly.Memory`, with typed wrappers. Takes a precompiled
 * `WebAssembly.Module` (workerd forbids compiling wasm from bytes: import the .wasm through wrangler's CompiledWasm
 * rule; in Node, `@siglip-edge/kernels/node` compiles build/kernels.wasm).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { Arena } from "./arena.ts";
import { linearLayout, MAX_K, writeLinear, type Int8Linear } from "./weights.ts";

/** Rows per packed activation block (the kernel's register block height). */
export const BLOCK_ROWS = 4;

const FLAG_GELU = 1;
const FLAG_RAW_I32 = 2;

/** The raw exports of build/kernels.wasm (byte offsets are plain numbers). */
export interface KernelExports {
  heapBase(): number;
  gemmW8A12(a: number, rowScale: number, m: number, w: number, colScale: number, bias: number, n: number, kPairs: number, out: number, ldo: number, residual: number, ldr: number, flags: number, scratch: number): void;
  quantizeRows(x: number, ldx: number, m: number, k: number, kPairs: number, a: number, rowScale: number): void;
  layerNorm(x: number, ldx: number, m: number, k: number, gamma: number, beta: number, eps: number, out: number, ldo: number): void;
  layerNormQuantize(x: number, ldx: number, m: number, k: number, gamma: number, beta: number, eps: number, kPairs: number, a: number, rowScale: number, tmpRow: number): void;
  attention(qkv: number, ldq: number, m: number, heads: number, hd: number, qOff: number, kOff: number, vOff: number, scale: number, out: number, ldo: number, scratch: number): void;
  attentionScratchBytes(m: number, hd: number): number;
  crossAttention(q: number, ldq: number, mq: number, kv: number, ldkv: number, mk: number, heads: number, hd: number, qOff: number, kOff: number, vOff: number, scale: number, keyBias: number, out: number, ldo: number, scratch: number): void;
  crossAttentionScratchBytes(mq: number, mk: number, hd: number): number;
  softmaxRows(x: number, ld: number, m: number, n: number): void;
  expF32(src: number, dst: number, n: number): void;
  geluF32(src: number, dst: number, n: number): void;
}

const REQUIRED: (keyof KernelExports)[] = ["heapBase", "gemmW8A12", "quantizeRows", "layerNorm", "layerNormQuantize", "attention", "attentionScratchBytes", "crossAttention", "crossAttentionScratchBytes", "softmaxRows", "expF32", "geluF32"];

/** Activations quantised per row, packed in blocks of 4 rows (int16 pairs) with their row scales. */
export interface QuantizedRows {
  m: number;
  k: number;
  kPairs: number;
  /** byte offset of the packed int16 blocks: ceil(m / 4) * kPairs * 16 bytes */
  a: number;
  /** byte offset of ceil(m / 4) * 4 float32 row scales */
  rowScale: number;
}

/** A linear layer's weights in WebAssembly memory, packed once. */
export interface PackedLinear {
  k: number;
  n: number;
  kPairs: number;
  /** byte offsets: packed int8 panels, column scales and bias (both padded to whole panels) */
  w: number;
  colScale: number;
  bias: number;
}

export interface GemmOptions {
  /** row stride of `out` in floats (default n) */
  ldo?: number;
  /** tanh-GELU after the bias */
  gelu?: boolean;
  /** byte offset of an fp32 [M, N] buffer added to the result (may be `out` itself) */
  residual?: number;
  /** row stride of `residual` in floats (default ldo) */
  ldr?: number;
  /** write the raw int32 accumulators instead (no scales, bias, GELU or residual) */
  rawInt32?: boolean;
}

export interface KernelsOptions {
  /** initial WebAssembly memory in MiB (default 16); it grows as the arena needs */
  initialMiB?: number;
}

export class Kernels {
  readonly memory: WebAssembly.Memory;
  readonly arena: Arena;
  readonly raw: KernelExports;
  /** the GEMM's widened-panel scratch, sized for MAX_K once (so no call allocates) */
  private readonly gemmScratch: number;

  constructor(memory: WebAssembly.Memory, raw: KernelExports) {
    this.memory = memory;
    this.raw = raw;
    this.arena = new Arena(memory, raw.heapBase());
    this.gemmScratch = this.arena.alloc(Math.ceil(MAX_K / 2) * 32 + 64);
  }

  // Views are made fresh each time: growing the memory detaches old ones.
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  i16(ptr: number, length: number): Int16Array {
    return new Int16Array(this.memory.buffer, ptr, length);
  }
  i8(ptr: number, length: number): Int8Array {
    return new Int8Array(this.memory.buffer, ptr, length);
  }

  /** Allocates `data.length` floats and copies `data` in; returns the byte offset. */
  putF32(data: Float32Array): number {
    const ptr = this.arena.alloc(data.byteLength);
    this.f32(ptr, data.length).set(data);
    return ptr;
  }

  /** Room for m rows of k activations, quantised. */
  allocRows(m: number, k: number): QuantizedRows {
    checkDims(m, k);
    const kPairs = Math.ceil(k / 2);
    const blocks = Math.ceil(m / BLOCK_ROWS);
    return { m, k, kPairs, a: this.arena.alloc(blocks * kPairs * 16), rowScale: this.arena.alloc(blocks * BLOCK_ROWS * 4) };
  }

  /** Quantises fp32 x [M, K] (at byte offset `x`, row stride `ldx` floats, default K) into `dst`, per row. */
  quantizeRows(x: number, dst: QuantizedRows, ldx = dst.k): void {
    this.raw.quantizeRows(x, ldx, dst.m, dst.k, dst.kPairs, dst.a, dst.rowScale);
  }

  /**
   * LayerNorm of x [M, K] (biased variance, eps) then per-row quantisation into `dst`. Without gamma/beta it is a
   * plain normalise (the gains folded into the following linear, see `foldLayerNorm`).
   */
  layerNormQuantize(x: number, dst: QuantizedRows, opts: { eps: number; gamma?: number; beta?: number; ldx?: number }): void {
    const mark = this.arena.mark();
    const tmp = this.arena.alloc(dst.k * 4);
    this.raw.layerNormQuantize(x, opts.ldx ?? dst.k, dst.m, dst.k, opts.gamma ?? 0, opts.beta ?? 0, opts.eps, dst.kPairs, dst.a, dst.rowScale, tmp);
    this.arena.release(mark);
  }

  /** Copies a linear layer's int8 weights into memory in panel order (once, at load), laid out as `linearLayout`. */
  loadLinear(lin: Int8Linear): PackedLinear {
    checkDims(lin.n, lin.k);
    const bytes = linearLayout(lin.k, lin.n).bytes;
    const base = this.arena.alloc(bytes);
    writeLinear(lin, new Uint8Array(this.memory.buffer, base, bytes));
    return this.linearAt(base, lin.k, lin.n);
  }

  /** out [M, N] (byte offset, fp32) = epilogue(a x w); see GemmOptions. */
  gemm(a: QuantizedRows, w: PackedLinear, out: number, opts: GemmOptions = {}): void {
    if (a.k !== w.k) throw new SiglipError("SHAPE_MISMATCH", `activations have K = ${a.k}, weights K = ${w.k}`);
    if (a.m < 1 || w.k > MAX_K) throw new SiglipError("SHAPE_MISMATCH", `invalid GEMM shape M = ${a.m}, K = ${w.k}`);
    const ldo = opts.ldo ?? w.n;
    const flags = (opts.gelu === true ? FLAG_GELU : 0) | (opts.rawInt32 === true ? FLAG_RAW_I32 : 0);
    const res = opts.residual ?? 0;
    this.raw.gemmW8A12(a.a, a.rowScale, a.m, w.w, w.colScale, w.bias, w.n, w.kPairs, out, ldo, res, opts.ldr ?? ldo, flags, this.gemmScratch);
  }

  /**
   * Multi-head attention on a fused QKV buffer [M, ldq] (Q at column qOff, K at kOff, V at vOff, heads x hd each)
   * into out [M, ldo] at column 0; scores are scaled by `scale`, then `keyBias` (byte offset of M floats, an additive
   * key mask) is added when given.
   */
  attention(qkv: number, m: number, opts: { heads: number; headDim: number; ldq: number; qOff: number; kOff: number; vOff: number; scale: number; out: number; ldo: number; keyBias?: number }): void {
    this.crossAttention(qkv, m, qkv, m, { ...opts, ldkv: opts.ldq });
  }

  /**
   * Multi-head attention of mq query rows (at `q`, row stride ldq, Q at column qOff) over mk key/value rows (at `kv`,
   * row stride ldkv, K at column kOff, V at vOff) into out [mq, ldo]: softmax(scale * q.k + keyBias) . v per head.
   */
  crossAttention(q: number, mq: number, kv: number, mk: number, opts: { heads: number; headDim: number; ldq: number; ldkv: number; qOff: number; kOff: number; vOff: number; scale: number; out: number; ldo: number; keyBias?: number }): void {
    if (opts.headDim % 8 !== 0) throw new SiglipError("SHAPE_MISMATCH", `head dim ${opts.headDim} is not a multiple of 8`);
    checkDims(mq, opts.headDim);
    checkDims(mk, opts.headDim);
    const mark = this.arena.mark();
    const scratch = this.arena.alloc(this.raw.crossAttentionScratchBytes(mq, mk, opts.headDim));
    this.raw.crossAttention(q, opts.ldq, mq, kv, opts.ldkv, mk, opts.heads, opts.headDim, opts.qOff, opts.kOff, opts.vOff, opts.scale, opts.keyBias ?? 0, opts.out, opts.ldo, scratch);
    this.arena.release(mark);
  }

  /** A linear whose packed bytes already sit in memory at `base` (see `linearLayout`): no copy. */
  linearAt(base: number, k: number, n: number): PackedLinear {
    const l = linearLayout(k, n);
    return { k, n, kPairs: Math.ceil(k / 2), w: base + l.w, colScale: base + l.colScale, bias: base + l.bias };
  }
}

function checkDims(m: number, k: number): void {
  if (!Number.isInteger(m) || !Number.isInteger(k) || m < 1 || k < 1) throw new SiglipError("SHAPE_MISMATCH", `invalid shape [${m}, ${k}]`);
}

/** Instantiates the kernels module (precompiled) on a fresh memory. */
export async function instantiateKernels(module: WebAssembly.Module, options: KernelsOptions = {}): Promise<Kernels> {
  const pages = Math.max(1, Math.ceil(((options.initialMiB ?? 16) * 1048576) / 65536));
  const memory = new WebAssembly.Memory({ initial: pages });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (cause) {
    throw new SiglipError("MODEL_LOAD_FAILED", "cannot instantiate the kernels module (is it build/kernels.wasm of @siglip-edge/kernels?)", { cause });
  }
  const ex = instance.exports as Record<string, unknown>;
  const missing = REQUIRED.filter((name) => typeof ex[name] !== "function");
  if (missing.length > 0) throw new SiglipError("MODEL_LOAD_FAILED", `the kernels module lacks ${missing.join(", ")}`);
  return new Kernels(memory, ex as unknown as KernelExports);
}
