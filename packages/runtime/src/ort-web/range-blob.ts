/**
 * A `Blob` whose bytes stay where they are (R2, HTTP) until read. The JSPI build of onnxruntime-web 1.30 accepts a
 * Blob as external data and, for each initializer, calls `blob.slice(offset, offset + length).stream()`, copying the
 * chunks into one reusable buffer (its glue: `Za` in ort-wasm-simd-threaded.jspi.mjs). With this class every slice is
 * one ranged GET, so loading a tower never holds its weight file in JS memory: the JS-side peak is about the largest
 * tensor (edge-runtime §6.4: 8.1 MiB instead of 38.3 MiB for 40 MB over 16 tensors).
 *
 * Only `size`, `slice` and `stream` are overridden (what the glue uses); `arrayBuffer` and `bytes` read the range
 * whole, for any other caller.
 * @module
 */
import { byobReader } from "../bundle-source.ts";
import type { RangedFile } from "../engine.ts";

/** Bytes per network read into the shared scratch buffer. */
const CHUNK = 2 ** 20;
/** The scratch buffer network reads go into, reused by every read of every slice (ORT loads tensor by tensor). */
let scratch: ArrayBuffer | undefined;

/** Wraps a ranged file as a Blob covering `[start, end)`. Needs a global `Blob` (workerd, browsers, Node). */
export function rangeBlob(file: RangedFile, start = 0, end = file.size): Blob {
  return new RangeBlob(file, start, end);
}

class RangeBlob extends Blob {
  readonly #file: RangedFile;
  readonly #start: number;
  readonly #end: number;

  constructor(file: RangedFile, start: number, end: number) {
    super([]);
    this.#file = file;
    this.#start = start;
    this.#end = end;
    // An own property shadows Blob.prototype.size (declared as a property in some lib typings, so no accessor here).
    Object.defineProperty(this, "size", { value: end - start });
  }

  override slice(start = 0, end = this.size): Blob {
    // Blob.slice semantics: negative indexes count from the end; the range is clamped to the blob.
    const clamp = (i: number) => Math.max(0, Math.min(this.size, i < 0 ? this.size + i : i));
    const a = clamp(start);
    const b = Math.max(a, clamp(end));
    return new RangeBlob(this.#file, this.#start + a, this.#start + b);
  }

  /**
   * A byte stream over one ranged read. The glue reads it with a BYOB reader into one reusable buffer; each pull reads
   * the network body with its own BYOB reader into one module-wide scratch buffer and copies into the glue's view,
   * so streaming a tower allocates no chunk buffers (with a plain stream, every network chunk is a fresh ArrayBuffer
   * left for the GC: ~15 MiB of garbage while loading the B/16 text tower). Bodies without BYOB support are read chunk
   * by chunk instead.
   */
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const file = this.#file;
    const offset = this.#start;
    const length = this.size;
    let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array> | undefined;
    const open = async () => {
      const body = await file.openRange(offset, length);
      return byobReader(body) ?? body.getReader();
    };
    return new ReadableStream({
      type: "bytes",
      async pull(controller) {
        if (length === 0) return controller.close();
        reader ??= await open();
        const req = controller.byobRequest;
        if (req?.view && reader instanceof ReadableStreamBYOBReader) {
          // The network body reads into a buffer of ours (reused for every read of every slice), which is copied into
          // the reader's view: handing the reader's own buffer over to the network stream and back
          // (respondWithNewView) left every read's memory as a new ArrayBuffer in workerd (72 MiB at a B/16 stage's
          // cold start).
          const view = req.view;
          const want = Math.min(view.byteLength, CHUNK);
          // Taken while in use (a concurrent read, e.g. two towers loading in one isolate, gets a buffer of its own).
          const buf = scratch ?? new ArrayBuffer(CHUNK);
          scratch = undefined;
          const { done, value } = await reader.read(new Uint8Array(buf, 0, want));
          if (value !== undefined) scratch = value.buffer as ArrayBuffer;
          if (done || value === undefined) {
            controller.close();
            req.respond(0);
            return;
          }
          new Uint8Array(view.buffer, view.byteOffset, value.byteLength).set(value);
          req.respond(value.byteLength);
          return;
        }
        const { done, value } = reader instanceof ReadableStreamBYOBReader ? await reader.read(new Uint8Array(65536)) : await reader.read();
        // enqueue() transfers the chunk's buffer; a copy keeps a source that hands out views of one buffer intact.
        if (done) controller.close();
        else if (value.byteLength > 0) controller.enqueue(value.slice());
      },
      cancel: (reason) => reader?.cancel(reason),
    }) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    return new Response(this.stream()).arrayBuffer();
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }
}
