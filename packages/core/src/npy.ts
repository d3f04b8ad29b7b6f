/**
 * NumPy `.npy` (format 1.0/2.0/3.0) encode and decode for little-endian, C-order arrays, on bytes only (no I/O), so
 * the CLI, tests and the Worker share one implementation.
 * @module
 */
import { SiglipError } from "./errors.ts";
import { DTYPE_BYTES, numel, tensor, typedArrayOf, type DType, type Tensor } from "./tensor.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Readonly<Record<DType, string>> = {
  float32: "<f4",
  float16: "<f2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  int8: "|i1",
};

const FROM_DESCR = new Map<string, DType>([
  ...Object.entries(DESCR).map(([k, v]) => [v, k as DType] as const),
  ["<u1", "uint8"],
  ["<i1", "int8"],
  ["u1", "uint8"],
  ["i1", "int8"],
]);

/** Serialises a tensor as a version 1.0 `.npy` file. */
export function encodeNpy(t: Tensor): Uint8Array {
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(", ")})`;
  let header = `{'descr': '${DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const body = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(10 + header.length + body.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

/** Parses a `.npy` file. Big-endian, Fortran-order and object arrays are rejected with `INVALID_ARGUMENT`. */
export function decodeNpy(bytes: Uint8Array): Tensor {
  const bad = (why: string): never => {
    throw new SiglipError("INVALID_ARGUMENT", `not a supported .npy file: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) bad("missing \\x93NUMPY magic");
  const major = bytes[6] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (major < 1 || major > 3) bad(`unknown format version ${major}`);
  const headerLen = lenBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + headerLen > bytes.length) bad("truncated header");
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) bad("malformed header");
  if (fortran === "True") bad("Fortran-order arrays are not supported");
  const dtype = FROM_DESCR.get(descr as string) ?? bad(`unsupported dtype ${descr}`);
  const dims = (shapeText as string)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, "")));
  const n = numel(dims);
  const bytesPer = DTYPE_BYTES[dtype];
  const dataStart = start + headerLen;
  if (bytes.length - dataStart < n * bytesPer) bad(`data section holds ${bytes.length - dataStart} bytes, shape needs ${n * bytesPer}`);
  // Copy so the result is aligned and independent of the input buffer. `new Uint8Array(view)` copies even for a
  // Node Buffer, whose `slice` would return a view into Node's shared pool.
  const raw = new Uint8Array(bytes.subarray(dataStart, dataStart + n * bytesPer)).buffer;
  return tensor(dtype, dims, typedArrayOf(dtype, raw));
}

/** Converts a numeric tensor to float32 (int64 through Number), for metrics on user-supplied arrays. */
export function toFloat32(t: Tensor): Tensor<"float32"> {
  if (t.dtype === "float32") return t as Tensor<"float32">;
  const out = new Float32Array(t.data.length);
  if (t.dtype === "int64") (t.data as BigInt64Array).forEach((v, i) => (out[i] = Number(v)));
  else if (t.dtype === "float16") {
    throw new SiglipError("DTYPE_MISMATCH", "float16 arrays: convert with float16BitsToFloat32 first");
  } else out.set(t.data as ArrayLike<number>);
  return tensor("float32", t.dims, out);
}
