/**
 * The comparison pipeline a Node developer would write with sharp (libvips): auto-orient, drop alpha, resize with
 * the linear kernel, then the same pixel table and layouts. Not Pillow-exact (different decoder paths and resize
 * kernel); used for speed and to measure how far it lands from the reference.
 */
import sharp from "sharp";
import { naflexTargetSize, PIXEL_LUT } from "../src/index.ts";

sharp.concurrency(1); // one thread, like Pillow and the WASM pipeline
sharp.cache(false);

/** @returns [3, S, S] float32 */
export async function sharpFixRes(bytes: Uint8Array, S: number): Promise<Float32Array> {
  const { data } = await sharp(bytes).rotate().removeAlpha().resize(S, S, { fit: "fill", kernel: "linear" }).raw().toBuffer({ resolveWithObject: true });
  const plane = S * S;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = PIXEL_LUT[data[3 * i]!]!;
    out[plane + i] = PIXEL_LUT[data[3 * i + 1]!]!;
    out[2 * plane + i] = PIXEL_LUT[data[3 * i + 2]!]!;
  }
  return out;
}

/** @returns [N, 768] float32 patches (zero-padded) */
export async function sharpNaFlex(bytes: Uint8Array, N: number): Promise<Float32Array> {
  const img = sharp(bytes).rotate();
  const meta = await img.metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const W = swap ? meta.height : meta.width;
  const H = swap ? meta.width : meta.height;
  const [h, w] = naflexTargetSize(H, W, 16, N);
  const data = await img.removeAlpha().resize(w, h, { fit: "fill", kernel: "linear" }).raw().toBuffer();
  const out = new Float32Array(N * 768);
  const nw = w / 16;
  for (let py = 0; py < h / 16; py++) {
    for (let px = 0; px < nw; px++) {
      let o = (py * nw + px) * 768;
      for (let y = 0; y < 16; y++) {
        let s = ((py * 16 + y) * w + px * 16) * 3;
        for (let i = 0; i < 48; i++) out[o++] = PIXEL_LUT[data[s++]!]!;
      }
    }
  }
  return out;
}
