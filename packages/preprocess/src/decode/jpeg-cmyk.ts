/**
 * Four-component (CMYK / YCCK) baseline JPEG in pure TS, because the MozJPEG WASM build only outputs RGBA. Ports the
 * libjpeg-turbo pieces Pillow's decode goes through, so the pixels are identical: Huffman decoding, ISLOW IDCT
 * (jidctint.c) with the post-IDCT range limit, YCCK -> CMYK (jdcolor.c tables); then Pillow's `CMYK;I` raw mode
 * (Adobe inversion) and `convert("RGB")` (Convert.c `cmyk2rgb`). Scope: sequential Huffman, no chroma subsampling
 * (what libjpeg writes for CMYK); anything else is IMAGE_UNSUPPORTED_FORMAT. The Huffman tables, bit reader and
 * IDCT are shared with the YCbCr / grey decoder (`jpeg-ts.ts`).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { RgbImage } from "../image.ts";
import { corrupt } from "./bytes.ts";

const F = "JPEG";
export const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
  47, 55, 62, 63,
];

function unsupported(why: string): never {
  throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", `JPEG: ${why}`, { details: { format: F } });
}

/** Canonical Huffman decoding tables (jdhuff.c style): per code length, the largest code and where its values start. */
export interface Huffman {
  maxcode: Int32Array; // [18], -1 when no code of that length
  valoff: Int32Array; // [17] value index = code + valoff[len]
  values: Uint8Array;
  maxLen: number;
  /** [512] for the next 9 bits: (length << 8) | value of a code of <= 9 bits, 0 when the code is longer (jdhuff.c's lookahead). */
  look: Uint16Array;
}

export function buildHuffman(counts: Uint8Array, symbols: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valoff = new Int32Array(17);
  let code = 0;
  let k = 0;
  let maxLen = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1] as number;
    if (n > 0) {
      valoff[len] = k - code;
      code += n;
      k += n;
      maxcode[len] = code - 1;
      maxLen = len;
    }
    if (code > 1 << len) corrupt(F, "Huffman table overfull");
    code <<= 1;
  }
  if (k > symbols.length) corrupt(F, "Huffman table too short");
  const look = new Uint16Array(512);
  for (let bits = 0; bits < 512; bits++) {
    for (let len = 1; len <= 9; len++) {
      const c = bits >> (9 - len);
      if (c <= (maxcode[len] as number)) {
        look[bits] = (len << 8) | (symbols[c + (valoff[len] as number)] as number);
        break;
      }
    }
  }
  return { maxcode, valoff, values: symbols, maxLen, look };
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** [blocksH * blocksW * 64] dequantisation happens in the IDCT; raw coefficients here */
  coefs: Int32Array;
  blocksW: number;
  blocksH: number;
  pred: number;
}

const FIX = {
  f0_298631336: 2446,
  f0_390180644: 3196,
  f0_541196100: 4433,
  f0_765366865: 6270,
  f0_899976223: 7373,
  f1_175875602: 9633,
  f1_501321110: 12299,
  f1_847759065: 15137,
  f1_961570560: 16069,
  f2_053119869: 16819,
  f2_562915447: 20995,
  f3_072711026: 25172,
};

/** libjpeg's post-IDCT range limit, indexed by the 10-bit wrapped value (RANGE_MASK): clamp of (value + 128). */
const RANGE = new Uint8Array(1024);
for (let j = 0; j < 1024; j++) {
  const v = (j >= 512 ? j - 1024 : j) + 128;
  RANGE[j] = v < 0 ? 0 : v > 255 ? 255 : v;
}

// DESCALE with C's arithmetic shift, in doubles (JLONG is 64-bit; no int32 overflow on hostile data): multiplying by
// 2^-n is exact, so floor((x + 2^(n-1)) * 2^-n) is the shift.
const P1 = 1 / 2048; // CONST_BITS - PASS1_BITS = 11
const P2 = 1 / 262144; // CONST_BITS + PASS1_BITS + 3 = 18

/**
 * jpeg_idct_islow for one block: coefficients and quantisation table in natural order. The all-zero-AC shortcuts of
 * jidctint.c give the same values as the full formulas (checked algebraically: DC * 4, then (w + 16) >> 5).
 * @param coef [.., 64] at `off`; @param out receives [8, 8] uint8 at `outOff` with row `stride`
 */
export function idctIslow(coef: Int32Array | Int16Array, off: number, q: Uint16Array, out: Uint8Array, outOff: number, stride: number, ws: Float64Array): void {
  for (let c = 0; c < 8; c++) {
    const i = off + c;
    const c1 = coef[i + 8] as number;
    const c2 = coef[i + 16] as number;
    const c3 = coef[i + 24] as number;
    const c4 = coef[i + 32] as number;
    const c5 = coef[i + 40] as number;
    const c6 = coef[i + 48] as number;
    const c7 = coef[i + 56] as number;
    if ((c1 | c2 | c3 | c4 | c5 | c6 | c7) === 0) {
      const dc = (coef[i] as number) * (q[c] as number) * 4;
      ws[c] = dc;
      ws[8 + c] = dc;
      ws[16 + c] = dc;
      ws[24 + c] = dc;
      ws[32 + c] = dc;
      ws[40 + c] = dc;
      ws[48 + c] = dc;
      ws[56 + c] = dc;
      continue;
    }
    let z2 = c2 * (q[16 + c] as number);
    let z3 = c6 * (q[48 + c] as number);
    let z1 = (z2 + z3) * FIX.f0_541196100;
    let tmp2 = z1 - z3 * FIX.f1_847759065;
    let tmp3 = z1 + z2 * FIX.f0_765366865;
    z2 = (coef[i] as number) * (q[c] as number);
    z3 = c4 * (q[32 + c] as number);
    let tmp0 = (z2 + z3) * 8192;
    let tmp1 = (z2 - z3) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = c7 * (q[56 + c] as number);
    tmp1 = c5 * (q[40 + c] as number);
    tmp2 = c3 * (q[24 + c] as number);
    tmp3 = c1 * (q[8 + c] as number);
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX.f1_175875602;
    tmp0 *= FIX.f0_298631336;
    tmp1 *= FIX.f2_053119869;
    tmp2 *= FIX.f3_072711026;
    tmp3 *= FIX.f1_501321110;
    z1 *= -FIX.f0_899976223;
    z2 *= -FIX.f2_562915447;
    z3 = z3 * -FIX.f1_961570560 + z5;
    z4 = z4 * -FIX.f0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    ws[c] = Math.floor((tmp10 + tmp3 + 1024) * P1);
    ws[56 + c] = Math.floor((tmp10 - tmp3 + 1024) * P1);
    ws[8 + c] = Math.floor((tmp11 + tmp2 + 1024) * P1);
    ws[48 + c] = Math.floor((tmp11 - tmp2 + 1024) * P1);
    ws[16 + c] = Math.floor((tmp12 + tmp1 + 1024) * P1);
    ws[40 + c] = Math.floor((tmp12 - tmp1 + 1024) * P1);
    ws[24 + c] = Math.floor((tmp13 + tmp0 + 1024) * P1);
    ws[32 + c] = Math.floor((tmp13 - tmp0 + 1024) * P1);
  }
  for (let r = 0; r < 8; r++) {
    const b = r * 8;
    const o = outOff + r * stride;
    const w0 = ws[b] as number;
    const w1 = ws[b + 1] as number;
    const w2 = ws[b + 2] as number;
    const w3 = ws[b + 3] as number;
    const w4 = ws[b + 4] as number;
    const w5 = ws[b + 5] as number;
    const w6 = ws[b + 6] as number;
    const w7 = ws[b + 7] as number;
    if (w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0 && w6 === 0 && w7 === 0) {
      const v = RANGE[Math.floor((w0 + 16) / 32) & 1023] as number;
      out.fill(v, o, o + 8);
      continue;
    }
    let z2 = w2;
    let z3 = w6;
    let z1 = (z2 + z3) * FIX.f0_541196100;
    let tmp2 = z1 - z3 * FIX.f1_847759065;
    let tmp3 = z1 + z2 * FIX.f0_765366865;
    let tmp0 = (w0 + w4) * 8192;
    let tmp1 = (w0 - w4) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = w7;
    tmp1 = w5;
    tmp2 = w3;
    tmp3 = w1;
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX.f1_175875602;
    tmp0 *= FIX.f0_298631336;
    tmp1 *= FIX.f2_053119869;
    tmp2 *= FIX.f3_072711026;
    tmp3 *= FIX.f1_501321110;
    z1 *= -FIX.f0_899976223;
    z2 *= -FIX.f2_562915447;
    z3 = z3 * -FIX.f1_961570560 + z5;
    z4 = z4 * -FIX.f0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = RANGE[Math.floor((tmp10 + tmp3 + 131072) * P2) & 1023] as number;
    out[o + 7] = RANGE[Math.floor((tmp10 - tmp3 + 131072) * P2) & 1023] as number;
    out[o + 1] = RANGE[Math.floor((tmp11 + tmp2 + 131072) * P2) & 1023] as number;
    out[o + 6] = RANGE[Math.floor((tmp11 - tmp2 + 131072) * P2) & 1023] as number;
    out[o + 2] = RANGE[Math.floor((tmp12 + tmp1 + 131072) * P2) & 1023] as number;
    out[o + 5] = RANGE[Math.floor((tmp12 - tmp1 + 131072) * P2) & 1023] as number;
    out[o + 3] = RANGE[Math.floor((tmp13 + tmp0 + 131072) * P2) & 1023] as number;
    out[o + 4] = RANGE[Math.floor((tmp13 - tmp0 + 131072) * P2) & 1023] as number;
  }
}

/** Entropy-coded segment reader: 0xFF00 unstuffing, stops at markers (reported through `marker`). */
export class BitReader {
  private readonly b: Uint8Array;
  pos: number;
  private acc = 0;
  private bits = 0;
  marker = -1;
  eof = false;

  constructor(b: Uint8Array, pos: number) {
    this.b = b;
    this.pos = pos;
  }

  private fill(): void {
    while (this.bits <= 24) {
      let byte = 0;
      if (this.marker === -1) {
        if (this.pos >= this.b.length) {
          this.eof = true;
          this.marker = 0xd9;
        } else {
          byte = this.b[this.pos++] as number;
          if (byte === 0xff) {
            let next = this.b[this.pos] ?? -1;
            while (next === 0xff) next = this.b[++this.pos] ?? -1; // fill bytes
            if (next === 0) this.pos++;
            else {
              this.marker = next < 0 ? 0xd9 : next;
              if (next < 0) this.eof = true;
              else this.pos++;
              byte = 0;
            }
          }
        }
      }
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.bits += 8;
    }
  }

  bit(): number {
    if (this.bits === 0) this.fill();
    this.bits--;
    return (this.acc >>> this.bits) & 1;
  }

  receive(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill(); // fill() leaves at least 25 bits; n <= 16
    this.bits -= n;
    return (this.acc >>> this.bits) & ((1 << n) - 1);
  }

  decode(h: Huffman): number {
    if (this.bits < 16) this.fill();
    const peek = (this.acc >>> (this.bits - 9)) & 511;
    const e = h.look[peek] as number;
    if (e !== 0) {
      this.bits -= e >> 8;
      return e & 255;
    }
    // Longer than 9 bits: continue bit by bit from the 9 already seen (jdhuff.c jpeg_huff_decode).
    this.bits -= 9;
    let code = peek;
    for (let len = 10; len <= h.maxLen; len++) {
      code = (code << 1) | this.bit();
      if (code <= (h.maxcode[len] as number)) return h.values[code + (h.valoff[len] as number)] as number;
    }
    return corrupt(F, "bad Huffman code");
  }

  /** Drops buffered bits at a restart marker. */
  reset(): void {
    this.acc = 0;
    this.bits = 0;
    this.marker = -1;
  }
}

export const extend = (v: number, t: number): number => (t === 0 ? 0 : v < 1 << (t - 1) ? v - (1 << t) + 1 : v);

/** Decodes a 4-component JPEG to RGB as Pillow's `convert("RGB")` sees it. */
export function decodeCmykJpeg(bytes: Uint8Array): RgbImage {
  const qt: (Uint16Array | undefined)[] = [];
  const dc: (Huffman | undefined)[] = [];
  const ac: (Huffman | undefined)[] = [];
  let comps: Component[] = [];
  let width = 0;
  let height = 0;
  let restart = 0;
  let adobeTransform = -1;
  let pos = 2;
  let frameSeen = false;
  const u16 = (p: number) => ((bytes[p] ?? 0) << 8) | (bytes[p + 1] ?? 0);
  for (;;) {
    if (pos + 2 > bytes.length) corrupt(F, "file is truncated");
    if (bytes[pos] !== 0xff) corrupt(F, "expected a marker");
    let marker = bytes[pos + 1] as number;
    while (marker === 0xff && pos + 2 < bytes.length) marker = bytes[++pos + 1] as number;
    pos += 2;
    if (marker === 0xd9) break;
    if (marker >= 0xd0 && marker <= 0xd7) continue;
    if (pos + 2 > bytes.length) corrupt(F, "file is truncated");
    const len = u16(pos);
    if (len < 2 || pos + len > bytes.length) corrupt(F, "file is truncated");
    const seg = bytes.subarray(pos + 2, pos + len);
    pos += len;
    if (marker === 0xdb) {
      for (let p = 0; p < seg.length; ) {
        const pq = (seg[p] as number) >> 4;
        const tq = (seg[p] as number) & 15;
        p++;
        const t = new Uint16Array(64);
        for (let i = 0; i < 64; i++) {
          if (p + (pq ? 1 : 0) >= seg.length && p >= seg.length) corrupt(F, "DQT too short");
          t[ZIGZAG[i] as number] = pq ? ((seg[p] as number) << 8) | (seg[p + 1] as number) : (seg[p] as number);
          p += pq ? 2 : 1;
        }
        if (tq > 3) corrupt(F, "bad DQT index");
        qt[tq] = t;
      }
    } else if (marker === 0xc4) {
      for (let p = 0; p < seg.length; ) {
        const tc = (seg[p] as number) >> 4;
        const th = (seg[p] as number) & 15;
        const counts = seg.subarray(p + 1, p + 17);
        if (counts.length < 16) corrupt(F, "DHT too short");
        const n = counts.reduce((a, b) => a + b, 0);
        const symbols = seg.subarray(p + 17, p + 17 + n);
        if (th > 3) corrupt(F, "bad DHT index");
        (tc === 0 ? dc : ac)[th] = buildHuffman(counts, symbols);
        p += 17 + n;
      }
    } else if (marker === 0xdd) {
      restart = u16(pos - len + 2);
    } else if (marker === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe") {
      adobeTransform = seg[11] as number;
    } else if (marker === 0xc0 || marker === 0xc1) {
      if (seg[0] !== 8) unsupported(`${seg[0]}-bit samples`);
      height = u16(pos - len + 3);
      width = u16(pos - len + 5);
      const n = seg[5] as number;
      comps = [];
      for (let i = 0; i < n; i++) {
        const b = 6 + 3 * i;
        const hv = seg[b + 1] ?? 0;
        comps.push({ id: seg[b] ?? 0, h: hv >> 4, v: hv & 15, tq: seg[b + 2] ?? 0, coefs: new Int32Array(0), blocksW: 0, blocksH: 0, pred: 0 });
      }
      if (comps.some((c) => c.h !== 1 || c.v !== 1)) unsupported("subsampled CMYK/YCCK");
      if (width === 0 || height === 0) corrupt(F, "invalid dimensions");
      for (const c of comps) {
        c.blocksW = Math.ceil(width / 8);
        c.blocksH = Math.ceil(height / 8);
        c.coefs = new Int32Array(c.blocksW * c.blocksH * 64);
      }
      frameSeen = true;
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      unsupported("progressive or arithmetic-coded CMYK/YCCK");
    } else if (marker === 0xda) {
      if (!frameSeen) corrupt(F, "scan before frame header");
      const ns = seg[0] as number;
      const scomps: { c: Component; dc: Huffman; ac: Huffman }[] = [];
      for (let i = 0; i < ns; i++) {
        const c = comps.find((x) => x.id === seg[1 + 2 * i]);
        const t = seg[2 + 2 * i] ?? 0;
        const d = dc[t >> 4];
        const a = ac[t & 15];
        if (c === undefined || d === undefined || a === undefined) corrupt(F, "scan references a missing component or table");
        scomps.push({ c, dc: d, ac: a });
      }
      const r = new BitReader(bytes, pos);
      for (const s of scomps) s.c.pred = 0;
      const mcus = ns === 1 ? (scomps[0] as { c: Component }).c.blocksW * (scomps[0] as { c: Component }).c.blocksH : Math.ceil(width / 8) * Math.ceil(height / 8);
      const mcuW = ns === 1 ? (scomps[0] as { c: Component }).c.blocksW : Math.ceil(width / 8);
      for (let m = 0; m < mcus; m++) {
        if (restart > 0 && m > 0 && m % restart === 0) {
          if (r.marker >= 0xd0 && r.marker <= 0xd7) r.reset();
          else {
            // Find the RST marker (libjpeg resyncs the same way on well-formed files).
            r.reset();
            while (r.pos + 1 < bytes.length && !(bytes[r.pos] === 0xff && (bytes[r.pos + 1] as number) >= 0xd0 && (bytes[r.pos + 1] as number) <= 0xd7)) r.pos++;
            r.pos += 2;
          }
          for (const s of scomps) s.c.pred = 0;
        }
        const bx = m % mcuW;
        const by = Math.floor(m / mcuW);
        for (const s of scomps) {
          const off = (by * s.c.blocksW + bx) * 64;
          const t = r.decode(s.dc);
          if (t > 16) corrupt(F, "bad DC coefficient");
          s.c.pred += extend(r.receive(t), t);
          s.c.coefs[off] = s.c.pred;
          for (let k = 1; k < 64; ) {
            const rs = r.decode(s.ac);
            const run = rs >> 4;
            const size = rs & 15;
            if (size === 0) {
              if (run === 15) {
                k += 16;
                continue;
              }
              break;
            }
            k += run;
            if (k > 63) corrupt(F, "coefficient index out of range");
            s.c.coefs[off + (ZIGZAG[k] as number)] = extend(r.receive(size), size);
            k++;
          }
        }
        if (r.eof) corrupt(F, "file is truncated");
      }
      if (r.marker === 0xd9) break; // EOI reached while reading the scan
      if (r.marker !== -1 && !(r.marker >= 0xd0 && r.marker <= 0xd7)) {
        pos = r.pos - 2; // the reader consumed the next segment's marker
      } else {
        // Skip leftover entropy bytes and RST markers up to the next real marker.
        pos = r.pos;
        while (pos + 1 < bytes.length && !(bytes[pos] === 0xff && bytes[pos + 1] !== 0 && bytes[pos + 1] !== 0xff && !((bytes[pos + 1] as number) >= 0xd0 && (bytes[pos + 1] as number) <= 0xd7))) pos++;
      }
    }
  }
  if (!frameSeen) corrupt(F, "no frame");
  if (comps.length !== 4) unsupported(`${comps.length} components in the CMYK path`);
  // IDCT every component into a full plane.
  const pw = Math.ceil(width / 8) * 8;
  const planes = comps.map((c) => {
    const q = qt[c.tq];
    if (q === undefined) corrupt(F, "missing quantisation table");
    const plane = new Uint8Array(pw * Math.ceil(height / 8) * 8);
    const ws = new Float64Array(64);
    for (let by = 0; by < c.blocksH; by++) {
      for (let bx = 0; bx < c.blocksW; bx++) idctIslow(c.coefs, (by * c.blocksW + bx) * 64, q, plane, by * 8 * pw + bx * 8, pw, ws);
    }
    return plane;
  });
  const [p0, p1, p2, p3] = planes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  // libjpeg's default: Adobe transform 2 means YCCK; otherwise CMYK as stored.
  const ycck = adobeTransform === 2;
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Float64Array(256);
  const cbG = new Float64Array(256);
  if (ycck) {
    const fix = (x: number) => Math.trunc(x * 65536 + 0.5);
    for (let i = 0; i < 256; i++) {
      const x = i - 128;
      crR[i] = Math.floor((fix(1.402) * x + 32768) / 65536);
      cbB[i] = Math.floor((fix(1.772) * x + 32768) / 65536);
      crG[i] = -fix(0.71414) * x;
      cbG[i] = -fix(0.34414) * x + 32768;
    }
  }
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = y * pw + x;
      let c = p0[s] as number;
      let m = p1[s] as number;
      let yy = p2[s] as number;
      if (ycck) {
        const Y = c;
        const cb = m;
        const cr = yy;
        c = clamp(255 - (Y + (crR[cr] as number)));
        m = clamp(255 - (Y + Math.floor(((cbG[cb] as number) + (crG[cr] as number)) / 65536)));
        yy = clamp(255 - (Y + (cbB[cb] as number)));
      }
      const k = p3[s] as number;
      // Pillow: raw mode CMYK;I inverts all four, then cmyk2rgb: out = nk - MULDIV255(C, nk) with nk = 255 - K.
      const nk = k; // 255 - (255 - k)
      const o = (y * width + x) * 3;
      const mul = (a: number) => {
        const t = a * nk + 128;
        return ((t >> 8) + t) >> 8;
      };
      out[o] = clamp(nk - mul(255 - c));
      out[o + 1] = clamp(nk - mul(255 - m));
      out[o + 2] = clamp(nk - mul(255 - yy));
    }
  }
  return { width, height, channels: 3, data: out };
}
