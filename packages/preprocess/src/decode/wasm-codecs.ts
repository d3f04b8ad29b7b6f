/**
 * The two WASM decoders: libjpeg-turbo-family MozJPEG (`@jsquash/jpeg`) and libwebp (`@jsquash/webp`). Workers
 * cannot compile WASM from bytes, so callers hand over a precompiled `WebAssembly.Module` (wrangler `CompiledWasm`
 * rule); Node may pass bytes (see `../node/`). A libjpeg fatal error ends the Emscripten instance, so every failure
 * discards the instance and the next decode instantiates a fresh one from the same module.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import jpegFactoryUntyped from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import webpFactoryUntyped from "@jsquash/webp/codec/dec/webp_dec.js";

/** RGBA pixels as the codecs return them. */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/**
 * The slice of the WebAssembly JS API used here, declared locally so the package typechecks without the DOM lib
 * (Node, Workers and browsers all provide it at run time).
 */
interface WasmApi {
  Module: abstract new (...args: never[]) => object;
  Memory: abstract new (...args: never[]) => { readonly buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: object };
  compile(bytes: ArrayBuffer): Promise<object>;
}

const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A `WebAssembly.Module`, typed structurally (see `WasmApi`). */
export type CompiledWasm = object;

interface CodecInstance {
  decode(data: Uint8Array, preserveOrientation?: boolean): RgbaPixels | null;
  version?: () => number;
}

interface FactoryOptions {
  noInitialRun: boolean;
  instantiateWasm: (imports: object, done: (instance: { exports: object }) => void) => object;
  print: (s: string) => void;
  printErr: (s: string) => void;
  /** Set so the glue never evaluates `new URL(file, import.meta.url)`: `import.meta.url` is empty in workerd. */
  locateFile: (path: string) => string;
}

type Factory = (opts: FactoryOptions) => Promise<CodecInstance>;

const FACTORIES: Readonly<Record<CodecName, Factory>> = {
  jpeg: jpegFactoryUntyped as unknown as Factory,
  webp: webpFactoryUntyped as unknown as Factory,
};

export type CodecName = "jpeg" | "webp";

/** A compiled module (required in Workers) or the `.wasm` bytes (Node and browsers that allow compiling). */
export type WasmSource = CompiledWasm | ArrayBuffer | Uint8Array;

export interface DecoderModules {
  jpeg?: WasmSource;
  webp?: WasmSource;
}

interface Slot {
  module: CompiledWasm;
  instance: Promise<CodecInstance> | undefined;
  /** Messages libjpeg / Emscripten printed during the current call. */
  messages: string[];
  /** The instance's linear memory (exported or imported), for `decoderMemoryBytes`. */
  memory?: { readonly buffer: ArrayBuffer };
}

/** The first `WebAssembly.Memory` among an instance's exports or imports (one level of namespaces). */
function memoryIn(o: object): { readonly buffer: ArrayBuffer } | undefined {
  for (const v of Object.values(o)) {
    if (v instanceof WA.Memory) return v;
    if (typeof v === "object" && v !== null && !(v instanceof WA.Module)) for (const w of Object.values(v as object)) if (w instanceof WA.Memory) return w;
  }
  return undefined;
}

const slots: Partial<Record<CodecName, Slot>> = {};

function instantiate(slot: Slot, name: CodecName): Promise<CodecInstance> {
  return FACTORIES[name]({
    noInitialRun: true,
    instantiateWasm: (imports, done) => {
      const instance = new WA.Instance(slot.module, imports);
      slot.memory = memoryIn(instance.exports) ?? memoryIn(imports);
      done(instance);
      return instance.exports;
    },
    print: (s) => slot.messages.push(s),
    printErr: (s) => slot.messages.push(s),
    locateFile: (path) => path,
  });
}

/**
 * Registers the WASM decoders. Call once per isolate before decoding JPEG or WebP; PNG, GIF and BMP need nothing.
 * Passing bytes compiles them here, which Workers forbid: there, pass the module from a CompiledWasm import.
 */
export async function initDecoders(modules: DecoderModules): Promise<void> {
  for (const name of ["jpeg", "webp"] as const) {
    const src = modules[name];
    if (src === undefined) continue;
    const module =
      src instanceof WA.Module ? src : await WA.compile(src instanceof Uint8Array ? (src.slice().buffer as ArrayBuffer) : (src as ArrayBuffer));
    const slot: Slot = { module, instance: undefined, messages: [] };
    slot.instance = instantiate(slot, name);
    await slot.instance;
    slots[name] = slot;
  }
}

/** Bytes of linear memory the WASM decoders hold now (it grows with the largest image decoded since the last reset). */
export function decoderMemoryBytes(): number {
  let bytes = 0;
  for (const slot of Object.values(slots)) bytes += slot?.memory?.buffer.byteLength ?? 0;
  return bytes;
}

/** Which WASM decoders are registered. */
export function decodersReady(): Record<CodecName, boolean> {
  return { jpeg: slots.jpeg !== undefined, webp: slots.webp !== undefined };
}

export interface CodecCall {
  pixels: RgbaPixels | null;
  messages: string[];
}

/**
 * Runs one decode on the named codec; exceptions (a libjpeg `exit`, a WASM trap, out of memory) become
 * `IMAGE_DECODE_FAILED` and reset the instance.
 */
export async function runCodec(name: CodecName, bytes: Uint8Array): Promise<CodecCall> {
  const slot = slots[name];
  if (slot === undefined) {
    throw new SiglipError("BACKEND_UNAVAILABLE", `the ${name} decoder is not initialised: call initDecoders({ ${name}: module }) first (Node: initNodeDecoders())`);
  }
  slot.instance ??= instantiate(slot, name);
  const inst = await slot.instance;
  slot.messages = [];
  try {
    const pixels = name === "jpeg" ? inst.decode(bytes, false) : inst.decode(bytes);
    // Large decodes grow the instance's memory for good; start afresh so an isolate does not keep it.
    if (pixels !== null && pixels.width * pixels.height > 4_000_000) slot.instance = undefined;
    return { pixels, messages: slot.messages };
  } catch (err) {
    slot.instance = undefined;
    const why = slot.messages.join("; ") || (err instanceof Error ? err.message : String(err));
    throw new SiglipError("IMAGE_DECODE_FAILED", `${name.toUpperCase()}: ${why}`, { cause: err, details: { format: name.toUpperCase() } });
  }
}

/** libwebp's decoder version as 0xMMmmpp (diagnostics). */
export async function webpDecoderVersion(): Promise<number | undefined> {
  const slot = slots.webp;
  if (slot === undefined) return undefined;
  slot.instance ??= instantiate(slot, "webp");
  return (await slot.instance).version?.();
}
