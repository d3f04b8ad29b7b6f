/**
 * The one base64 codec (bytes and little-endian float32 vectors), on `btoa` / `atob` so it runs in Workers, browsers
 * and Node alike: the API's `encoding_format: "base64"`, image data URIs, the audit report's packed arrays.
 * @module
 */

/** Bytes to base64 (in 32 KiB slices: `String.fromCharCode` takes its arguments on the stack). */
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Base64 to bytes; throws (`atob`'s `InvalidCharacterError`) on characters outside the alphabet. */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A float32 vector as base64 of its little-endian bytes (OpenAI's `encoding_format: "base64"`). */
export function float32ToBase64(v: ArrayLike<number>): string {
  const bytes = new Uint8Array(v.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i] as number, true);
  return bytesToBase64(bytes);
}

/** Base64 of little-endian float32 values back to the vector (a trailing partial value is dropped). */
export function base64ToFloat32(b64: string): Float32Array {
  const bytes = base64ToBytes(b64);
  const n = bytes.length >> 2;
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
