/**
 * A minimal Worker using the package the way a deployment would: decoders registered from CompiledWasm imports
 * once per isolate, then POST an image -> FixRes / NaFlex summary (sha256 of the float32 bytes, shapes).
 */
import { SiglipError, isSiglipError } from "@siglip-edge/core";
import { initDecoders, preprocessFixRes, preprocessNaFlex } from "../src/index.ts";
// wrangler cannot resolve package exports for .wasm imports (edge-runtime §2.4): import by relative path.
import jpegWasm from "../../../node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import webpWasm from "../../../node_modules/@jsquash/webp/codec/dec/webp_dec.wasm";

let ready: Promise<void> | undefined;

export function ensureDecoders(): Promise<void> {
  ready ??= initDecoders({ jpeg: jpegWasm, webp: webpWasm });
  return ready;
}

export async function sha256Hex(a: ArrayBufferView): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(req: Request): Promise<Response> {
    try {
      await ensureDecoders();
      const bytes = new Uint8Array(await req.arrayBuffer());
      const url = new URL(req.url);
      if (url.pathname === "/naflex") {
        const r = await preprocessNaFlex(bytes, { maxNumPatches: Number(url.searchParams.get("n") ?? 256) });
        return Response.json({ sha256: await sha256Hex(r.pixelValues.data), dims: r.pixelValues.dims, spatialShape: Array.from(r.spatialShapes.data, Number) });
      }
      const size = Number(url.searchParams.get("size") ?? 224);
      const pv = await preprocessFixRes(bytes, { size, limits: { maxPixels: 24_000_000 } });
      return Response.json({ sha256: await sha256Hex(pv.data), dims: pv.dims });
    } catch (err) {
      const e = isSiglipError(err) ? err : new SiglipError("INTERNAL", String(err));
      return Response.json(e.toJSON(), { status: e.code === "INTERNAL" ? 500 : 400 });
    }
  },
};
