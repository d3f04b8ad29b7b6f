/**
 * The colour stage of the JPEG row decoder: one upsampled row per component in, one RGB row out, as Pillow's
 * `convert("RGB")` sees it. Grey is replicated; YCbCr uses jdcolor.c's fixed-point tables; CMYK and YCCK (4
 * components, which the WASM build cannot output) go through libjpeg's YCCK -> CMYK (the same tables, inverted), then
 * Pillow's `CMYK;I` raw mode (it assumes Adobe's inverted CMYK and inverts all four) and Convert.c's `cmyk2rgb`.
 * @module
 */

/** How the components are coded (libjpeg's jpeg_color_space; RGB-coded files never get here). */
export type ColourModel = "grey" | "ycc" | "cmyk" | "ycck";

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number) => Math.trunc(x * (1 << SCALEBITS) + 0.5);

/** jdcolor.c build_ycc_rgb_table, [256] each, indexed by the Cb / Cr sample. */
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

/**
 * Writes pixels 0..W-1 of one row.
 * @param rows the upsampled rows of the components in frame order, each [>= W] uint8
 * @param rgb [W * 3], clamped stores do libjpeg's range limit
 */
export function colourRow(model: ColourModel, rows: readonly Uint8Array[], W: number, rgb: Uint8ClampedArray): void {
  const [c0, c1, c2, c3] = rows as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  if (model === "grey") greyRow(c0, W, rgb);
  else if (model === "cmyk") invertedRow(c0, c1, c2, W, rgb);
  else yccRow(c0, c1, c2, W, rgb);
  if (model === "cmyk" || model === "ycck") inkRow(c3, W, rgb);
}

function greyRow(g: Uint8Array, W: number, rgb: Uint8ClampedArray): void {
  for (let x = 0, o = 0; x < W; x++, o += 3) {
    const v = g[x] as number;
    rgb[o] = v;
    rgb[o + 1] = v;
    rgb[o + 2] = v;
  }
}

/** jdcolor.c ycc_rgb_convert. For YCCK this is 255 - C, 255 - M, 255 - Y of ycck_cmyk_convert, i.e. `CMYK;I`'s C, M, Y. */
function yccRow(Y: Uint8Array, Cb: Uint8Array, Cr: Uint8Array, W: number, rgb: Uint8ClampedArray): void {
  for (let x = 0, o = 0; x < W; x++, o += 3) {
    const y = Y[x] as number;
    const cb = Cb[x] as number;
    const cr = Cr[x] as number;
    rgb[o] = y + (CR_R[cr] as number);
    rgb[o + 1] = y + (((CB_G[cb] as number) + (CR_G[cr] as number)) >> SCALEBITS);
    rgb[o + 2] = y + (CB_B[cb] as number);
  }
}

/** Plain CMYK: Pillow's `CMYK;I` inverts C, M, Y as stored. */
function invertedRow(C: Uint8Array, M: Uint8Array, Yl: Uint8Array, W: number, rgb: Uint8ClampedArray): void {
  for (let x = 0, o = 0; x < W; x++, o += 3) {
    rgb[o] = 255 - (C[x] as number);
    rgb[o + 1] = 255 - (M[x] as number);
    rgb[o + 2] = 255 - (Yl[x] as number);
  }
}

/**
 * Convert.c cmyk2rgb on `CMYK;I` samples: out = nk - MULDIV255(v, nk) with nk = 255 - (255 - K) = K, in place on
 * the inverted C, M, Y in `rgb` (never below 0, since MULDIV255(v, nk) <= nk).
 */
function inkRow(K: Uint8Array, W: number, rgb: Uint8ClampedArray): void {
  for (let x = 0, o = 0; x < W; x++) {
    const k = K[x] as number;
    for (const end = o + 3; o < end; o++) {
      const t = (rgb[o] as number) * k + 128;
      rgb[o] = k - (((t >> 8) + t) >> 8);
    }
  }
}
