/**
 * Bounds-checked byte reading for the pure-TS decoders: every read past the end raises `IMAGE_DECODE_FAILED`, so a
 * truncated or lying file can never index out of range or loop on garbage.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { DecodeLimits } from "../image.ts";

export function corrupt(format: string, why: string, cause?: unknown): never {
  throw new SiglipError("IMAGE_DECODE_FAILED", `${format}: ${why}`, cause === undefined ? { details: { format } } : { cause, details: { format } });
}

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly format: string;
  pos: number;

  constructor(bytes: Uint8Array, format: string, pos = 0) {
    this.bytes = bytes;
    this.format = format;
    this.pos = pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) corrupt(this.format, "file is truncated");
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  u16be(): number {
    this.need(2);
    const b = this.bytes;
    const v = ((b[this.pos] as number) << 8) | (b[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u16le(): number {
    this.need(2);
    const b = this.bytes;
    const v = (b[this.pos] as number) | ((b[this.pos + 1] as number) << 8);
    this.pos += 2;
    return v;
  }

  u32be(): number {
    this.need(4);
    const b = this.bytes;
    const v = (((b[this.pos] as number) << 24) | ((b[this.pos + 1] as number) << 16) | ((b[this.pos + 2] as number) << 8) | (b[this.pos + 3] as number)) >>> 0;
    this.pos += 4;
    return v;
  }

  u32le(): number {
    this.need(4);
    const b = this.bytes;
    const v = ((b[this.pos] as number) | ((b[this.pos + 1] as number) << 8) | ((b[this.pos + 2] as number) << 16) | ((b[this.pos + 3] as number) << 24)) >>> 0;
    this.pos += 4;
    return v;
  }

  i32le(): number {
    return this.u32le() | 0;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** Throws `IMAGE_TOO_LARGE` when a header announces more pixels than the limits allow (checked before allocating). */
export function checkDimensions(format: string, width: number, height: number, limits: DecodeLimits): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    corrupt(format, `invalid dimensions ${width}x${height}`);
  }
  if (width > limits.maxDimension || height > limits.maxDimension || width * height > limits.maxPixels) {
    throw new SiglipError("IMAGE_TOO_LARGE", `${format}: ${width}x${height} exceeds the limit of ${limits.maxPixels} pixels (max side ${limits.maxDimension})`, {
      details: { format, width, height, maxPixels: limits.maxPixels, maxDimension: limits.maxDimension },
    });
  }
}
