/**
 * A minimal dense tensor: row-major typed-array data plus `dims`. Shapes follow the legend in README.md
 * (B batch, N tokens, D hidden, C classes, G groups).
 * @module
 */
import { SiglipError } from "./errors.ts";

export type DType = "float32" | "float16" | "int32" | "int64" | "uint8" | "int8";

export interface DataTypeMap {
  float32: Float32Array;
  float16: Uint16Array; // raw IEEE half bits
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  int8: Int8Array;
}

export interface Tensor<T extends DType = DType> {
  readonly dtype: T;
  readonly dims: readonly number[];
  readonly data: DataTypeMap[T];
}

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  int8: 1,
};

/** Number of elements of a shape; throws on negative or fractional dims. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) {
      throw new SiglipError("SHAPE_MISMATCH", `invalid dimension ${d} in shape [${dims.join(", ")}]`);
    }
    n *= d;
  }
  return n;
}

export function formatShape(dims: readonly (number | null)[]): string {
  return `[${dims.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/**
 * Asserts `dims` matches `expected`, where `null` accepts any size. The message names the tensor.
 */
export function assertShape(name: string, dims: readonly number[], expected: readonly (number | null)[]): void {
  const ok = dims.length === expected.length && expected.every((e, i) => e === null || e === dims[i]);
  if (!ok) {
    throw new SiglipError(
      "SHAPE_MISMATCH",
      `${name}: expected shape ${formatShape(expected)}, got ${formatShape(dims)}`,
      { details: { name, expected, actual: dims } },
    );
  }
}

const CTORS = {
  float32: Float32Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
} as const;

/**
 * The elements of `dtype` over a whole buffer, as a view (no copy); float16 as its uint16 bits. The buffer's length
 * must be a multiple of the element size.
 */
export function typedArrayOf<T extends DType>(dtype: T, buffer: ArrayBuffer): DataTypeMap[T] {
  return new CTORS[dtype](buffer) as DataTypeMap[T];
}

/** Builds a tensor, checking that the data length equals the shape's element count. */
export function tensor<T extends DType>(dtype: T, dims: readonly number[], data?: DataTypeMap[T]): Tensor<T> {
  const n = numel(dims);
  const buf = (data ?? new CTORS[dtype](n)) as DataTypeMap[T];
  if (buf.length !== n) {
    throw new SiglipError(
      "SHAPE_MISMATCH",
      `data has ${buf.length} elements but shape ${formatShape(dims)} needs ${n}`,
    );
  }
  return { dtype, dims: [...dims], data: buf };
}

/** Row `i` of a 2-D float32 tensor [R, D], as a view (no copy). */
export function row(t: Tensor<"float32">, i: number): Float32Array {
  if (t.dims.length !== 2) throw new SiglipError("SHAPE_MISMATCH", `row() needs a 2-D tensor, got ${formatShape(t.dims)}`);
  const [R, D] = t.dims as [number, number];
  if (!Number.isInteger(i) || i < 0 || i >= R) throw new SiglipError("INVALID_ARGUMENT", `row ${i} out of range [0, ${R})`);
  return t.data.subarray(i * D, (i + 1) * D);
}

/** Stacks equal-length float32 vectors into a [R, D] tensor. */
export function stackRows(rows: readonly Float32Array[]): Tensor<"float32"> {
  const first = rows[0];
  const D = first === undefined ? 0 : first.length;
  const out = new Float32Array(rows.length * D);
  rows.forEach((r, i) => {
    if (r.length !== D) throw new SiglipError("SHAPE_MISMATCH", `row ${i} has length ${r.length}, expected ${D}`);
    out.set(r, i * D);
  });
  return tensor("float32", [rows.length, D], out);
}

/** Joins byte chunks (a read stream's pieces, a header and payloads) into one new array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** float32 -> IEEE 754 binary16 bits, round to nearest even (used for fp16 weights and wire formats). */
export function float32ToFloat16Bits(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h += 1; // a carry into the exponent is still correct
  return sign | h;
}

/** IEEE 754 binary16 bits -> number. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
