/**
 * safetensors reading (streamed: only the JSON header is read up front, each tensor on demand with positioned reads,
 * so files larger than 4 GB and 2 GB never sit in memory) and writing (header first, then tensors one at a time).
 * Format: u64 LE header length, JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"}`,
 * then the data section; offsets are relative to the data section.
 * @module
 */
import { open, type FileHandle } from "node:fs/promises";
import { float32ToFloat16Bits, SiglipError } from "@siglip-edge/core";

export type StDType = "F32" | "F16" | "BF16";

export interface TensorInfo {
  name: string;
  dtype: StDType;
  shape: number[];
  /** Absolute byte offset of the tensor's data in its file. */
  offset: number;
  byteLength: number;
  file: string;
}

const BYTES: Record<StDType, number> = { F32: 4, F16: 2, BF16: 2 };

/** Reads the header of one safetensors file. Throws `CHECKPOINT_INVALID` on a malformed header. */
export async function readSafetensorsHeader(path: string): Promise<Map<string, TensorInfo>> {
  const fh = await open(path, "r").catch((e: unknown) => {
    throw new SiglipError("NOT_FOUND", `cannot open ${path}`, { cause: e });
  });
  try {
    const { size } = await fh.stat();
    const bad = (why: string): never => {
      throw new SiglipError("CHECKPOINT_INVALID", `${path}: not a safetensors file (${why})`);
    };
    if (size < 8) bad("shorter than 8 bytes");
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > 100_000_000 || 8 + headerLen > size) bad(`header length ${headerLen}`);
    const hb = Buffer.alloc(headerLen);
    await fh.read(hb, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(hb.toString("utf8")) as Record<string, unknown>;
    } catch {
      return bad("header is not JSON");
    }
    const dataStart = 8 + headerLen;
    const out = new Map<string, TensorInfo>();
    for (const [name, v] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16") {
        throw new SiglipError("DTYPE_MISMATCH", `${path}: tensor ${name} has dtype ${String(e.dtype)}; only F32, F16 and BF16 are supported`, {
          details: { tensor: name },
        });
      }
      const shape = e.shape as number[];
      const offs = e.data_offsets as [number, number];
      if (!Array.isArray(shape) || !Array.isArray(offs) || offs.length !== 2) bad(`entry ${name}`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (offs[1] - offs[0] !== n * BYTES[e.dtype] || dataStart + offs[1] > size) {
        throw new SiglipError("CHECKPOINT_INVALID", `${path}: tensor ${name} data [${offs.join(", ")}] does not fit its shape or the file`, {
          details: { tensor: name },
        });
      }
      out.set(name, { name, dtype: e.dtype, shape, offset: dataStart + offs[0], byteLength: offs[1] - offs[0], file: path });
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** bf16 / fp16 / fp32 little-endian bytes -> float32. */
export function decodeToFloat32(bytes: Uint8Array, dtype: StDType): Float32Array {
  if (dtype === "F32") {
    const out = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const n = bytes.byteLength / 2;
  const u16 = new Uint16Array(n);
  new Uint8Array(u16.buffer).set(bytes);
  const out = new Float32Array(n);
  if (dtype === "BF16") {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = (u16[i] as number) << 16; // bf16 is the top half of an f32
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = halfToFloat(u16[i] as number);
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Reads one tensor as float32 with a positioned read (works past 4 GB). With `into` (F32 only, exactly sized), the
 * bytes land in that array: streaming callers reuse one buffer instead of allocating per chunk.
 */
export async function readTensorF32(info: TensorInfo, fh?: FileHandle, into?: Float32Array): Promise<Float32Array> {
  const own = fh === undefined;
  const handle = fh ?? (await open(info.file, "r"));
  try {
    const direct = into !== undefined && info.dtype === "F32" && into.byteLength === info.byteLength;
    const buf = direct ? new Uint8Array(into.buffer, into.byteOffset, into.byteLength) : new Uint8Array(info.byteLength);
    let done = 0;
    while (done < info.byteLength) {
      // Reads are capped below 2 GiB per call by Node; loop for large tables.
      const chunk = Math.min(info.byteLength - done, 1 << 30);
      const { bytesRead } = await handle.read(buf, done, chunk, info.offset + done);
      if (bytesRead === 0) throw new SiglipError("CHECKPOINT_INVALID", `${info.file}: truncated while reading ${info.name}`);
      done += bytesRead;
    }
    if (direct) return into;
    if (info.dtype === "F32" && buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4); // no copy
    return decodeToFloat32(buf, info.dtype);
  } finally {
    if (own) await handle.close();
  }
}

export interface TensorSpec {
  name: string;
  shape: number[];
}

/**
 * Writes a safetensors file tensor by tensor: `produce(spec)` is called once per spec, in order, so only one tensor
 * is in memory at a time. Float32 values are stored as `dtype` (F16/BF16 round to nearest even).
 */
export async function writeSafetensors(
  path: string,
  specs: readonly TensorSpec[],
  produce: (spec: TensorSpec) => Float32Array | Promise<Float32Array>,
  dtype: StDType = "F32",
  metadata: Record<string, string> = { format: "pt" },
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    header[s.name] = { dtype, shape: s.shape, data_offsets: [off, off + n * BYTES[dtype]] };
    off += n * BYTES[dtype];
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // keep the data section 8-byte aligned
  const hb = Buffer.from(json, "utf8");
  const fh = await open(path, "w");
  try {
    const lenBuf = Buffer.alloc(8);
    lenBuf.writeBigUInt64LE(BigInt(hb.byteLength));
    await fh.write(lenBuf);
    await fh.write(hb);
    for (const s of specs) {
      const data = await produce(s);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new SiglipError("SHAPE_MISMATCH", `${s.name}: produced ${data.length} values, shape needs ${n}`);
      await fh.write(encodeFromFloat32(data, dtype));
    }
  } finally {
    await fh.close();
  }
}

function encodeFromFloat32(data: Float32Array, dtype: StDType): Uint8Array {
  if (dtype === "F32") return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint16Array(data.length);
  if (dtype === "BF16") {
    const u32 = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < data.length; i++) {
      const x = u32[i] as number;
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even
    }
  } else {
    for (let i = 0; i < data.length; i++) out[i] = float32ToFloat16Bits(data[i] as number);
  }
  return new Uint8Array(out.buffer);
}
