/**
 * A whole SigLIP tower, or a stage of one, on the kernels, loaded from a "siglip-kernels-w8a12" file (format.ts) by
 * byte range: each block is read once and copied once into WebAssembly memory, where the kernels use it in place.
 * Computes the function of the bundle's ONNX graphs (packages/export graphs/towers.ts):
 * - FixRes vision: pixel_values [B, 3, S, S] -> pooler_output [B, D];
 * - NaFlex vision: pixel_values [B, N, C·P·P], pixel_attention_mask [B, N], position_embeddings [B, N, D] ->
 *   pooler_output [B, D] (key mask in every layer's attention and in the MAP head);
 * - text: inputs_embeds [B, T, D] -> pooler_output [B, P] = head(LN(h)[:, T - 1]);
 * - a stage covers layers [start, end); a stage after the first takes hidden_states [B, N, D]; one before the last
 *   returns hidden_states_out [B, N, D].
 *
 * Numerics (see the README): every linear is W8A12 (int8 weights per output channel, activations quantised per row
 * to 12 bits, exact int32 sums, fp32 epilogue), the patch embedding and the heads included; every LayerNorm is a plain
 * fp32 normalise whose gain and bias were folded in float64 into the following linear at pack time; attention,
 * softmax, GELU, residuals, position embeddings and the key mask (HF's additive float32-min) are fp32. The text head
 * normalises and projects only the last row; the MAP head's query is the packed constant probeQ.
 * @module
 */
import { sha256Hex, SiglipError } from "@siglip-edge/core";
import { blockLayout, blockNames, patchDim, readKernelsHeader, type BlockPart, type KernelsHeader, type KernelsTowerConfig, type RangeReader } from "./format.ts";
import type { Kernels, PackedLinear } from "./kernels.ts";
import { EncoderLayer } from "./layer.ts";

/** HF's additive mask value for a masked key (float32 lowest), as the graphs add it. */
export const MASKED_KEY_BIAS = -3.4028234663852886e38;

export interface TowerLoadOptions {
  /** Stage `index` of `count` (layers [floor(i·L/K), floor((i+1)·L/K))); absent: the whole tower. */
  stage?: { index: number; count: number };
  /** Check each block's sha256 against the header (default true). */
  verify?: boolean;
  /** Names the file in messages. */
  where?: string;
  /** Called with the parsed header before any block is read (a caller's own checks: the manifest's size, its tower). */
  checkHeader?: (header: KernelsHeader) => void;
}

/** The inputs of one call, by graph input. */
export interface TowerInputs {
  /** stage 0: pixel_values (FixRes [B, 3, S, S], NaFlex [B, N, C·P·P]) or inputs_embeds [B, T, D]; later stages: hidden_states [B, N, D] */
  input: Float32Array;
  batch: number;
  /** N (patches; FixRes: the position count) or T (tokens) */
  tokens: number;
  /** NaFlex stage 0: [B, N, D] */
  positionEmbeddings?: Float32Array;
  /** NaFlex: [B, N], 1 = a real patch */
  mask?: ArrayLike<number | bigint>;
}

interface Head {
  kv: PackedLinear;
  probeQ: number;
  out: PackedLinear;
  fc1: PackedLinear;
  fc2: PackedLinear;
}

export class KernelTower {
  readonly header: KernelsHeader;
  readonly config: KernelsTowerConfig;
  /** encoder layers [start, end) this tower (stage) runs */
  readonly start: number;
  readonly end: number;
  readonly first: boolean;
  readonly last: boolean;
  /** bytes of WebAssembly memory the loaded blocks take */
  readonly weightBytes: number;
  private readonly K: Kernels;
  private readonly layers: EncoderLayer[];
  private readonly patch: PackedLinear | undefined;
  private readonly pos: number;
  private readonly head: Head | undefined;
  private readonly textHead: PackedLinear | undefined;

  private constructor(K: Kernels, header: KernelsHeader, range: [number, number], first: boolean, last: boolean, blocks: Map<string, number>, weightBytes: number) {
    this.K = K;
    this.header = header;
    this.config = header.config;
    [this.start, this.end] = range;
    this.first = first;
    this.last = last;
    this.weightBytes = weightBytes;
    const c = header.config;
    const at = (block: string, part: string): BlockPart & { ptr: number } => {
      const p = blockLayout(c, block).parts[part] as BlockPart;
      return { ...p, ptr: (blocks.get(block) as number) + p.offset };
    };
    const linear = (block: string, part: string): PackedLinear => {
      const p = at(block, part);
      if (p.kind !== "linear") throw new SiglipError("CHECKPOINT_INVALID", `${block}.${part} is not a linear`);
      return K.linearAt(p.ptr, p.k, p.n);
    };
    const dims = { hidden: c.hidden, heads: c.heads, intermediate: c.intermediate, eps: c.eps };
    this.layers = [];
    for (let i = this.start; i < this.end; i++) {
      const b = `layer.${i}`;
      this.layers.push(new EncoderLayer(K, { ...dims, qkv: linear(b, "qkv"), out: linear(b, "out"), fc1: linear(b, "fc1"), fc2: linear(b, "fc2") }));
    }
    this.patch = first && c.kind !== "text" ? linear("embed", "patch") : undefined;
    this.pos = first && c.kind !== "vision-naflex" ? at("embed", "pos").ptr : 0;
    this.textHead = last && c.kind === "text" ? linear("head", "head") : undefined;
    this.head = last && c.kind !== "text" ? { kv: linear("head", "kv"), probeQ: at("head", "probeQ").ptr, out: linear("head", "out"), fc1: linear("head", "fc1"), fc2: linear("head", "fc2") } : undefined;
  }

  /**
   * Reads the header, then the blocks this tower (stage) needs, each one ranged read copied into a fresh arena
   * block. Errors: CHECKPOINT_INVALID (not a kernels file, bad header), INTEGRITY_MISMATCH (a short read, a block
   * whose sha256 differs).
   */
  static async load(K: Kernels, read: RangeReader, options: TowerLoadOptions = {}): Promise<KernelTower> {
    const where = options.where ?? "kernels file";
    const header = await readKernelsHeader(read, where);
    options.checkHeader?.(header);
    const L = header.config.layers;
    let range: [number, number] = [0, L];
    let first = true;
    let last = true;
    if (options.stage !== undefined) {
      const { index, count } = options.stage;
      if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || count > L || index < 0 || index >= count) {
        throw new SiglipError("INVALID_ARGUMENT", `stage ${index} of ${count} is not a stage of a ${L}-layer tower`);
      }
      range = [Math.floor((index * L) / count), Math.floor(((index + 1) * L) / count)];
      first = index === 0;
      last = index === count - 1;
    }
    const wanted = blockNames(header.config).filter((n) => (n === "embed" ? first : n === "head" ? last : Number(n.slice(6)) >= range[0] && Number(n.slice(6)) < range[1]));
    const blocks = new Map<string, number>();
    let bytes = 0;
    for (const name of wanted) {
      const b = header.blocks.find((x) => x.name === name);
      if (b === undefined) throw new SiglipError("CHECKPOINT_INVALID", `${where}: no block ${name}`);
      const data = await read(b.offset, b.bytes);
      if (data.byteLength !== b.bytes) throw new SiglipError("INTEGRITY_MISMATCH", `${where}: block ${name} read ${data.byteLength} of ${b.bytes} bytes (truncated file?)`);
      if (options.verify !== false) {
        const got = await sha256Hex(data);
        if (got !== b.sha256) throw new SiglipError("INTEGRITY_MISMATCH", `${where}: block ${name} has sha256 ${got}, the header says ${b.sha256}`);
      }
      const ptr = K.arena.alloc(b.bytes);
      new Uint8Array(K.memory.buffer, ptr, b.bytes).set(data);
      blocks.set(name, ptr);
      bytes += b.bytes;
    }
    return new KernelTower(K, header, range, first, last, blocks, bytes);
  }

  /** Output floats per batch row: [P] / [D] pooled, or [N, D] hidden states. */
  outputSize(tokens: number): number {
    const c = this.config;
    if (!this.last) return tokens * c.hidden;
    return c.kind === "text" ? (c.projection as number) : c.hidden;
  }

  /** Expected input floats per batch row. */
  inputSize(tokens: number): number {
    const c = this.config;
    if (!this.first || c.kind === "text") return tokens * c.hidden;
    if (c.kind === "vision-naflex") return tokens * patchDim(c);
    const S = c.imageSize as number;
    return (c.channels as number) * S * S;
  }

  /** Runs the tower (stage) on a batch; writes `out` (B x outputSize(tokens) floats). */
  forward(inp: TowerInputs, out: Float32Array): void {
    const { K, config: c } = this;
    const { batch: B, tokens: N } = inp;
    const D = c.hidden;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(N) || N < 1) throw new SiglipError("SHAPE_MISMATCH", `invalid batch ${B} x ${N}`);
    if (c.kind === "vision-fixres" && N !== c.numPositions) throw new SiglipError("SHAPE_MISMATCH", `FixRes takes ${String(c.numPositions)} patches, got ${N}`);
    if (c.kind === "text" && this.first && N > (c.maxPositions as number)) throw new SiglipError("SHAPE_MISMATCH", `${N} tokens exceed ${String(c.maxPositions)} positions`);
    if (inp.input.length !== B * this.inputSize(N)) throw new SiglipError("SHAPE_MISMATCH", `input has ${inp.input.length} floats, expected ${B * this.inputSize(N)}`);
    if (out.length !== B * this.outputSize(N)) throw new SiglipError("SHAPE_MISMATCH", `output has ${out.length} floats, expected ${B * this.outputSize(N)}`);
    const naflex = c.kind === "vision-naflex";
    if (naflex && (inp.mask === undefined || inp.mask.length !== B * N)) throw new SiglipError("SHAPE_MISMATCH", `NaFlex needs a [${B}, ${N}] pixel_attention_mask`);
    if (naflex && this.first && inp.positionEmbeddings?.length !== B * N * D) throw new SiglipError("SHAPE_MISMATCH", `NaFlex needs [${B}, ${N}, ${D}] position_embeddings`);
    const mark = K.arena.mark();
    try {
      const x = K.arena.alloc(N * D * 4);
      const keyBias = naflex ? K.arena.alloc(N * 4) : 0;
      const rows = this.first && c.kind !== "text" ? K.allocRows(N, patchDim(c)) : undefined;
      const patches = this.first && c.kind !== "text" ? K.arena.alloc(N * patchDim(c) * 4) : 0;
      const outSize = this.outputSize(N);
      for (let b = 0; b < B; b++) {
        if (naflex) {
          const kb = K.f32(keyBias, N);
          const m = inp.mask as ArrayLike<number | bigint>;
          for (let j = 0; j < N; j++) kb[j] = Number(m[b * N + j]) !== 0 ? 0 : MASKED_KEY_BIAS; // (1 - m) * float32_min
        }
        if (this.first) this.embed(inp, b, x, rows, patches);
        else K.f32(x, N * D).set(inp.input.subarray(b * N * D, (b + 1) * N * D));
        for (const layer of this.layers) layer.forward(x, N, undefined, keyBias);
        const dst = out.subarray(b * outSize, (b + 1) * outSize);
        if (!this.last) dst.set(K.f32(x, N * D));
        else if (c.kind === "text") this.textPool(x, N, dst);
        else this.mapPool(x, N, keyBias, dst);
      }
    } finally {
      K.arena.release(mark);
    }
  }

  /** Token rows of batch row b into x [N, D]: patch GEMM + positions, or embeddings + positions. */
  private embed(inp: TowerInputs, b: number, x: number, rows: ReturnType<Kernels["allocRows"]> | undefined, patches: number): void {
    const { K, config: c } = this;
    const N = inp.tokens;
    const D = c.hidden;
    if (c.kind === "text") {
      // inputs_embeds + position rows 0..T-1 (fp32 add, as the graph's Add)
      const xv = K.f32(x, N * D);
      const pos = K.f32(this.pos, N * D);
      const e = inp.input.subarray(b * N * D, (b + 1) * N * D);
      for (let i = 0; i < N * D; i++) xv[i] = (e[i] as number) + (pos[i] as number);
      return;
    }
    const R = rows as ReturnType<Kernels["allocRows"]>;
    if (c.kind === "vision-naflex") {
      const Kp = patchDim(c);
      K.f32(x, N * D).set((inp.positionEmbeddings as Float32Array).subarray(b * N * D, (b + 1) * N * D));
      K.f32(patches, N * Kp).set(inp.input.subarray(b * N * Kp, (b + 1) * N * Kp));
      K.quantizeRows(patches, R);
      K.gemm(R, this.patch as PackedLinear, x, { residual: x }); // patch linear + position_embeddings
      return;
    }
    // FixRes: im2col of the conv (stride = kernel = P, VALID), columns in the weight's (c, ky, kx) order
    const C = c.channels as number;
    const P = c.patchSize as number;
    const S = c.imageSize as number;
    const g = Math.floor(S / P);
    const Kp = C * P * P;
    const pv = K.f32(patches, N * Kp);
    const img = inp.input.subarray(b * C * S * S, (b + 1) * C * S * S);
    for (let py = 0; py < g; py++) {
      for (let px = 0; px < g; px++) {
        let o = (py * g + px) * Kp;
        for (let ch = 0; ch < C; ch++) {
          for (let ky = 0; ky < P; ky++) {
            const row = ch * S * S + (py * P + ky) * S + px * P;
            for (let kx = 0; kx < P; kx++) pv[o++] = img[row + kx] as number;
          }
        }
      }
    }
    K.quantizeRows(patches, R);
    K.gemm(R, this.patch as PackedLinear, x, { residual: this.pos, ldr: D }); // conv + bias, then + position table
  }

  /** pooler_output = head(LN(h[T - 1])): the final LayerNorm folded into the head linear. */
  private textPool(x: number, N: number, dst: Float32Array): void {
    const { K, config: c } = this;
    const D = c.hidden;
    const a = K.allocRows(1, D);
    K.layerNormQuantize(x + (N - 1) * D * 4, a, { eps: c.eps });
    const y = K.arena.alloc(dst.length * 4);
    K.gemm(a, this.textHead as PackedLinear, y);
    dst.set(K.f32(y, dst.length));
  }

  /** MAP head: probe attends over LN(h) (post-LN folded into k|v), then a + MLP(LN(a)) (head LN folded into fc1). */
  private mapPool(x: number, N: number, keyBias: number, dst: Float32Array): void {
    const { K, config: c } = this;
    const D = c.hidden;
    const F = c.intermediate;
    const h = this.head as Head;
    const a1 = K.allocRows(N, D);
    K.layerNormQuantize(x, a1, { eps: c.eps });
    const kv = K.arena.alloc(N * 2 * D * 4);
    K.gemm(a1, h.kv, kv);
    const att = K.arena.alloc(D * 4);
    K.crossAttention(h.probeQ, 1, kv, N, { heads: c.heads, headDim: D / c.heads, ldq: D, ldkv: 2 * D, qOff: 0, kOff: 0, vOff: D, scale: 1, out: att, ldo: D, keyBias });
    const a2 = K.allocRows(1, D);
    K.quantizeRows(att, a2);
    const y = K.arena.alloc(D * 4);
    K.gemm(a2, h.out, y);
    const a3 = K.allocRows(1, D);
    K.layerNormQuantize(y, a3, { eps: c.eps });
    const m = K.arena.alloc(F * 4);
    K.gemm(a3, h.fc1, m, { gelu: true });
    const a4 = K.allocRows(1, F);
    K.quantizeRows(m, a4);
    K.gemm(a4, h.fc2, y, { residual: y });
    dst.set(K.f32(y, D));
  }
}
