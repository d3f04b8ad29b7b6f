/**
 * Compact embedding types, the one codec the API (`embedding_type`) and `siglip embed --type` use. The rules, stated
 * once here and repeated in the OpenAPI schema (apps/edge-api/src/schemas.ts):
 * - `float`: the float32 values.
 * - `int8`: one scale per vector, `scale = max_i |v_i| / 127` (float32; 0 for a zero vector), `q_i = round(v_i / scale)`
 *   (halves away from zero), in [-127, 127]; decoded `v_i ~ q_i * scale`, within `scale / 2`. Cosine of the int8
 *   vectors approximates cosine of the floats, so they rank without the scale.
 * - `uint8`: the int8 values plus 128, in [1, 255], the same scale; decoded `v_i ~ (q_i - 128) * scale`.
 * - `ubinary`: one bit per dimension, 1 where `v_i > 0`, packed MSB-first (dimension 8k + j is bit 7 - j of byte k;
 *   the last byte zero-padded), `ceil(D / 8)` bytes as unsigned values 0..255 (numpy `packbits(v > 0)`).
 * - `binary`: the same bytes minus 128, as signed values -128..127 (sentence-transformers' and Cohere's `binary`:
 *   add 128 to get the packed bits back). Hamming distance of the bits ranks like the angle between the vectors.
 * In JSON (`encoding_format: "float"`) the values are numbers; with `encoding_format: "base64"` they are the bytes
 * (float32 little-endian; int8 and binary as two's complement bytes; uint8 and ubinary as they are).
 * @module
 */
import { base64ToBytes, bytesToBase64, base64ToFloat32, float32ToBase64 } from "./base64.ts";
import { SiglipError } from "./errors.ts";

export const EMBEDDING_TYPES = ["float", "int8", "uint8", "binary", "ubinary"] as const;
export type EmbeddingType = (typeof EMBEDDING_TYPES)[number];

export function isEmbeddingType(s: unknown): s is EmbeddingType {
  return typeof s === "string" && (EMBEDDING_TYPES as readonly string[]).includes(s);
}

/** One embedding in a type: its values (a typed array of the type's width) and, for int8 / uint8, the scale. */
export type QuantizedEmbedding =
  | { type: "float"; values: Float32Array }
  | { type: "int8"; values: Int8Array; scale: number }
  | { type: "uint8"; values: Uint8Array; scale: number }
  | { type: "binary"; values: Int8Array }
  | { type: "ubinary"; values: Uint8Array };

/** Rounds halves away from zero (`Math.round` rounds them up). */
function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** The per-vector int8 scale: `max |v_i| / 127` in float32 (0 for a zero vector). */
export function int8Scale(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] as number));
  if (!Number.isFinite(m)) throw new SiglipError("INVALID_ARGUMENT", "cannot quantise a vector with non-finite values");
  return Math.fround(m / 127);
}

/** Sign bits packed MSB-first: bit 7 - j of byte k is 1 where `v[8k + j] > 0`. */
export function packSignBits(v: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(v.length / 8));
  for (let i = 0; i < v.length; i++) if ((v[i] as number) > 0) out[i >> 3] = (out[i >> 3] as number) | (0x80 >> (i & 7));
  return out;
}

/** The float embedding in `type` (`v` as the API returns it: normalised unless the caller asked otherwise). */
export function quantizeEmbedding(v: ArrayLike<number>, type: EmbeddingType): QuantizedEmbedding {
  switch (type) {
    case "float":
      return { type, values: Float32Array.from(v) };
    case "int8":
    case "uint8": {
      const scale = int8Scale(v);
      const q = new Int8Array(v.length);
      if (scale > 0) for (let i = 0; i < v.length; i++) q[i] = Math.max(-127, Math.min(127, roundAway((v[i] as number) / scale)));
      if (type === "int8") return { type, values: q, scale };
      return { type, values: Uint8Array.from(q, (x) => x + 128), scale };
    }
    case "ubinary":
      return { type, values: packSignBits(v) };
    case "binary":
      return { type, values: Int8Array.from(packSignBits(v), (b) => b - 128) };
    default:
      throw new SiglipError("INVALID_ARGUMENT", `unknown embedding type ${JSON.stringify(type)}; one of ${EMBEDDING_TYPES.join(", ")}`);
  }
}

/**
 * Decodes a quantized embedding by the rules above: float and int8 / uint8 to approximate values (`q * scale`),
 * binary / ubinary to +1 / -1 per dimension (`dim` dimensions; the padding bits dropped).
 */
export function dequantizeEmbedding(q: QuantizedEmbedding, dim = q.type === "binary" || q.type === "ubinary" ? q.values.length * 8 : q.values.length): Float32Array {
  switch (q.type) {
    case "float":
      return Float32Array.from(q.values);
    case "int8":
      return Float32Array.from(q.values, (x) => x * q.scale);
    case "uint8":
      return Float32Array.from(q.values, (x) => (x - 128) * q.scale);
    case "binary":
    case "ubinary": {
      const bytes = q.type === "ubinary" ? q.values : Uint8Array.from(q.values, (x) => x + 128);
      return Float32Array.from({ length: dim }, (_, i) => (((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1 ? 1 : -1));
    }
  }
}

/** The values' bytes as `encoding_format: "base64"` sends them (float32 little-endian; others one byte each). */
export function embeddingToBase64(q: QuantizedEmbedding): string {
  if (q.type === "float") return float32ToBase64(q.values);
  return bytesToBase64(new Uint8Array(q.values.buffer, q.values.byteOffset, q.values.byteLength));
}

/** The JSON values (`encoding_format: "float"`): numbers, integers for every type but float. */
export function embeddingToJson(q: QuantizedEmbedding): number[] {
  return Array.from(q.values);
}

/** Reads an embedding back from the API's base64 (`scale` from the same `data[]` item for int8 / uint8). */
export function embeddingFromBase64(b64: string, type: EmbeddingType, scale = 0): QuantizedEmbedding {
  if (type === "float") return { type, values: base64ToFloat32(b64) };
  const bytes = base64ToBytes(b64);
  switch (type) {
    case "int8":
      return { type, values: new Int8Array(bytes.buffer), scale };
    case "uint8":
      return { type, values: bytes, scale };
    case "binary":
      return { type, values: new Int8Array(bytes.buffer) };
    case "ubinary":
      return { type, values: bytes };
    default:
      throw new SiglipError("INVALID_ARGUMENT", `unknown embedding type ${JSON.stringify(type)}`);
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x > 0; x >>= 1) n += x & 1;
  return n;
});

/** Hamming distance of two packed bit vectors (`ubinary` bytes; give `binary` values as they are, both alike). */
export function hammingDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new SiglipError("SHAPE_MISMATCH", `bit vectors of ${a.length} and ${b.length} bytes`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT[((a[i] as number) ^ (b[i] as number)) & 0xff] as number;
  return d;
}
