/// <reference lib="dom" />
// (the WebAssembly types, for every package whose typecheck reaches the kernels; Node and workerd both have WebAssembly)
/**
 * A bump allocator over one `WebAssembly.Memory`: weights are allocated once at load, per-call activations between
 * `mark()` and `release()`. Growing the memory detaches every typed-array view of it, so views are made fresh from
 * `memory.buffer` after any allocation (see `Kernels.f32` and friends).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

const PAGE = 65536;
/** Every allocation starts on a cache line. */
export const ALIGN = 64;

export class Arena {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly base: number;

  /** `base`: first free byte (the module's `heapBase()`). */
  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    this.base = alignUp(base, ALIGN);
    this.top = this.base;
  }

  /** Reserves `bytes` (zero-filled on first use of fresh pages, not otherwise) and returns the byte offset. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new SiglipError("INVALID_ARGUMENT", `arena: invalid size ${bytes}`);
    const ptr = this.top;
    const end = alignUp(ptr + bytes, ALIGN);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (cause) {
        throw new SiglipError("MODEL_LOAD_FAILED", `arena: cannot grow WebAssembly memory to ${end} bytes`, { cause });
      }
    }
    this.top = end;
    return ptr;
  }

  /** Reserves and zero-fills. */
  allocZeroed(bytes: number): number {
    const ptr = this.alloc(bytes);
    new Uint8Array(this.memory.buffer, ptr, bytes).fill(0);
    return ptr;
  }

  /** The current top, to hand back to `release` (scratch for one call). */
  mark(): number {
    return this.top;
  }

  /** Frees everything allocated since `mark` (the memory itself never shrinks). */
  release(mark: number): void {
    if (mark < this.base || mark > this.top) throw new SiglipError("INVALID_ARGUMENT", `arena: bad mark ${mark}`);
    this.top = mark;
  }

  /** Bytes allocated. */
  get used(): number {
    return this.top - this.base;
  }
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
