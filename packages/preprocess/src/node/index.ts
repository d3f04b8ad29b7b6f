/**
 * Node adapter: loads the decoders' `.wasm` files from node_modules and registers them. Workers use
 * `initDecoders` with CompiledWasm modules instead.
 * @module
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { decodersReady, initDecoders } from "../decode/wasm-codecs.ts";

const require = createRequire(import.meta.url);

/** Absolute paths of the two decoder binaries. */
export function decoderWasmPaths(): { jpeg: string; webp: string } {
  return {
    jpeg: require.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm"),
    webp: require.resolve("@jsquash/webp/codec/dec/webp_dec.wasm"),
  };
}

let loading: Promise<void> | undefined;

/** Compiles and registers the JPEG and WebP decoders once per process. */
export function initNodeDecoders(): Promise<void> {
  const ready = decodersReady();
  if (ready.jpeg && ready.webp) return Promise.resolve();
  loading ??= (async () => {
    const p = decoderWasmPaths();
    const [jpeg, webp] = await Promise.all([readFile(p.jpeg), readFile(p.webp)]);
    await initDecoders({ jpeg: new Uint8Array(jpeg), webp: new Uint8Array(webp) });
  })();
  return loading;
}

export * from "../index.ts";
