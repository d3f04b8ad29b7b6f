/**
 * `C = A · Bᵀ` on onnxruntime-node's CPU provider (MLAS SGEMM: native AVX2/AVX-512 kernels, intra-op threads): the
 * fast similarity kernel of @siglip-edge/metrics' streamed retrieval on Node. The graph is one ONNX `Gemm` node
 * (transB = 1, symbolic m, n, k) built in memory, so no file and no transpose of B.
 * Structurally a `SimilarityKernel` of @siglip-edge/metrics (this package does not depend on metrics).
 * @module
 */
import { availableParallelism } from "node:os";
import { SiglipError, tensor } from "@siglip-edge/core";
import { createNodeEngine } from "./ort-node-engine.ts";

export interface MatmulKernelOptions {
  /** Intra-op threads, default the number of available cores. */
  threads?: number;
}

export interface MatmulKernel {
  readonly name: string;
  /** @param a [m, k] float32, @param b [n, k] float32; @returns C [m, n] float32 (a new array, `out` unused) */
  multiplyTransposed(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

/** A protobuf field: varint, string, bytes, or a nested message (a list of fields). */
type Field = [number, number | string | Field[]];

function encode(fields: readonly Field[]): Uint8Array {
  const out: number[] = [];
  const varint = (v: number) => {
    for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
    out.push(v);
  };
  for (const [no, value] of fields) {
    if (typeof value === "number") {
      varint(no * 8);
      varint(value);
      continue;
    }
    const body = typeof value === "string" ? new TextEncoder().encode(value) : encode(value);
    varint(no * 8 + 2);
    varint(body.length);
    for (const b of body) out.push(b);
  }
  return Uint8Array.from(out);
}

/** ModelProto (IR 8, opset 17) of `c = Gemm(a, b, transB=1)`; field numbers from onnx/onnx.proto3. */
function gemmModel(): Uint8Array {
  const FLOAT = 1;
  const valueInfo = (name: string, dims: string[]): Field[] => [
    [1, name],
    [2, [[1, [[1, FLOAT], [2, dims.map((d): Field => [1, [[2, d]]])]]]]], // type.tensor_type {elem_type, shape}
  ];
  const node: Field[] = [[1, "a"], [1, "b"], [2, "c"], [3, "abt"], [4, "Gemm"], [5, [[1, "transB"], [3, 1], [20, 2]]]]; // attribute INT
  const graph: Field[] = [[1, node], [2, "a_bt"], [11, valueInfo("a", ["m", "k"])], [11, valueInfo("b", ["n", "k"])], [12, valueInfo("c", ["m", "n"])]];
  return encode([[1, 8], [2, "siglip-edge"], [7, graph], [8, [[1, ""], [2, 17]]]]);
}

/** Opens a MatMul kernel (one small session on the onnxruntime-node engine; close it when done). */
export async function createMatmulKernel(opts: MatmulKernelOptions = {}): Promise<MatmulKernel> {
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new SiglipError("INVALID_ARGUMENT", `threads must be a positive integer, got ${threads}`);
  const session = await createNodeEngine().createSession({ kind: "bytes", graph: gemmModel() }, { threads });
  return {
    name: `onnxruntime-node Gemm (MLAS, ${threads} thread${threads === 1 ? "" : "s"})`,
    async multiplyTransposed(a, m, b, n, k) {
      if (a.length < m * k || b.length < n * k) throw new SiglipError("SHAPE_MISMATCH", `product of [${m}, ${k}] and [${n}, ${k}]^T needs ${m * k} and ${n * k} values, got ${a.length} and ${b.length}`);
      const out = await session.run({ a: tensor("float32", [m, k], a.subarray(0, m * k)), b: tensor("float32", [n, k], b.subarray(0, n * k)) }, ["c"]);
      const c = out["c"];
      if (c === undefined || !(c.data instanceof Float32Array) || c.data.length !== m * n) throw new SiglipError("INTERNAL", `Gemm returned no [${m}, ${n}] float32 output`);
      return c.data;
    },
    close: () => session.release(),
  };
}
