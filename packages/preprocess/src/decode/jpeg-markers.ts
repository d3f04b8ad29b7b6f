/**
 * The one JPEG marker parser: segments (fill bytes, standalone markers, lengths), the header summary the router needs
 * (`readJpegHeader`: size, components, EXIF / XMP, first scan), and, for the pure-TS decoder, quantisation tables,
 * canonical Huffman tables (jdhuff.c's derived tables with a 9-bit lookahead), restart interval, frame (with
 * libjpeg's colour-space rules, jdapimin.c) and scan headers.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { corrupt } from "./bytes.ts";
import type { ColourModel } from "./jpeg-colour.ts";

const F = "JPEG";
export const EOI = 0xd9;
export const SOS = 0xda;
const EMPTY = new Uint8Array(0);

/** Raised before any row is emitted when only the WASM decoder reproduces Pillow for this file. */
export class TsJpegFallback extends Error {}

export function unsupported(why: string): never {
  throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", `JPEG: ${why}`, { details: { format: F } });
}

export const isRst = (m: number): boolean => m >= 0xd0 && m <= 0xd7;
export const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const u16 = (b: Uint8Array, p: number): number => ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0);

/** Zig-zag index -> natural index. */
export const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
  47, 55, 62, 63,
];

/** Canonical Huffman decoding tables (jdhuff.c style): per code length, the largest code and where its values start. */
export interface Huffman {
  maxcode: Int32Array; // [18], -1 when no code of that length
  valoff: Int32Array; // [17] value index = code + valoff[len]
  values: Uint8Array;
  maxLen: number;
  /** [512] for the next 9 bits: (length << 8) | value of a code of <= 9 bits, 0 when the code is longer (jdhuff.c's lookahead). */
  look: Uint16Array;
  /**
   * [512] for the next 9 bits, AC tables' run-length fast path (what libjpeg-turbo's jdhuff.c does with its
   * lookahead, a step further): when a code and its value bits fit in 9 bits, (value << 8) | (run << 4) | bits used;
   * 0 otherwise (longer codes, EOB, ZRL).
   */
  acFast: Int32Array;
}

/** Sign extension of a `t`-bit value (jdhuff.c HUFF_EXTEND). */
export const extend = (v: number, t: number): number => (t === 0 ? 0 : v < 1 << (t - 1) ? v - (1 << t) + 1 : v);

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
  return { maxcode, valoff, values: symbols, maxLen, look, acFast: acFastTable(look) };
}

function acFastTable(look: Uint16Array): Int32Array {
  const fast = new Int32Array(512);
  for (let bits = 0; bits < 512; bits++) {
    const e = look[bits] as number;
    const len = e >> 8;
    const size = e & 15;
    if (e === 0 || size === 0 || len + size > 9) continue;
    const v = extend((bits >> (9 - len - size)) & ((1 << size) - 1), size);
    fast[bits] = (v << 8) | (e & 0xf0) | (len + size);
  }
  return fast;
}

export interface Segment {
  marker: number;
  /** The segment's payload (after the length), empty for standalone markers. */
  data: Uint8Array;
  /** Where the next marker (or, after SOS, the entropy-coded data) starts. */
  next: number;
}

/** Reads the marker at `pos` (fill bytes skipped) and its segment; TEM, RSTn and EOI stand alone. */
export function readSegment(bytes: Uint8Array, pos: number): Segment {
  if (pos + 2 > bytes.length) corrupt(F, "file is truncated");
  if (bytes[pos] !== 0xff) corrupt(F, `expected a marker, found 0x${(bytes[pos] as number).toString(16)}`);
  let marker = bytes[pos + 1] as number;
  while (marker === 0xff && pos + 2 < bytes.length) marker = bytes[++pos + 1] as number;
  pos += 2;
  if (marker === 0x01 || marker === EOI || isRst(marker)) return { marker, data: EMPTY, next: pos };
  if (pos + 2 > bytes.length) corrupt(F, "file is truncated");
  const len = u16(bytes, pos);
  if (len < 2) corrupt(F, `segment 0x${marker.toString(16)} has length ${len}`);
  if (pos + len > bytes.length) corrupt(F, "file is truncated");
  return { marker, data: bytes.subarray(pos + 2, pos + len), next: pos + len };
}

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  progressive: boolean;
  /** Components in the first scan (all of them: a baseline file the TS decoder can stream). */
  firstScanComponents: number;
  exif: Uint8Array | undefined;
  xmp: Uint8Array | undefined;
}

const XMP_ID = "http://ns.adobe.com/xap/1.0/\0";

function startsWith(data: Uint8Array, s: string): boolean {
  if (data.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (data[i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Walks the markers up to the first SOS; lenient about what only the decoders check (bit depth, sampling). */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  let sof: Omit<JpegHeader, "exif" | "xmp" | "firstScanComponents"> | undefined;
  let exif: Uint8Array | undefined;
  let xmp: Uint8Array | undefined;
  for (let pos = 2; ; ) {
    const { marker, data, next } = readSegment(bytes, pos);
    pos = next;
    if (marker === EOI) corrupt(F, "no image data before EOI");
    if (marker === 0xe1 && exif === undefined && startsWith(data, "Exif\0\0")) exif = data;
    else if (marker === 0xe1 && xmp === undefined && startsWith(data, XMP_ID)) xmp = data.subarray(XMP_ID.length);
    else if (isSof(marker)) {
      if (data.length < 6) corrupt(F, "SOF segment too short");
      if (marker === 0xc3 || marker === 0xc7 || marker === 0xcb || marker === 0xcf) unsupported("lossless JPEG is not supported");
      const progressive = marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce;
      sof = { width: u16(data, 3), height: u16(data, 1), components: data[5] as number, progressive };
    } else if (marker === SOS) {
      if (sof === undefined) corrupt(F, "scan before frame header");
      return { ...sof, firstScanComponents: data[0] ?? 0, exif, xmp };
    }
  }
}

/** The tables and settings segments before (and between) scans define. */
export interface JpegTables {
  /** Quantisation tables [4][64], natural order. */
  qt: (Uint16Array | undefined)[];
  dc: (Huffman | undefined)[];
  ac: (Huffman | undefined)[];
  /** MCUs per restart interval, 0 for none. */
  restart: number;
  jfif: boolean;
  /** Adobe APP14 colour transform, -1 without the marker. */
  adobe: number;
}

export function emptyTables(): JpegTables {
  return { qt: [], dc: [], ac: [], restart: 0, jfif: false, adobe: -1 };
}

/** Applies a DQT, DHT, DRI, APP0 (JFIF) or APP14 (Adobe) segment; other markers are ignored. */
export function readTables(t: JpegTables, marker: number, seg: Uint8Array): void {
  if (marker === 0xdb) readDqt(t, seg);
  else if (marker === 0xc4) readDht(t, seg);
  else if (marker === 0xdd) {
    if (seg.length < 2) corrupt(F, "DRI too short");
    t.restart = u16(seg, 0);
  } else if (marker === 0xe0 && seg.length >= 5 && startsWith(seg, "JFIF\0")) t.jfif = true;
  else if (marker === 0xee && seg.length >= 12 && startsWith(seg, "Adobe")) t.adobe = seg[11] as number;
}

function readDqt(t: JpegTables, seg: Uint8Array): void {
  for (let p = 0; p < seg.length; ) {
    const pq = (seg[p] as number) >> 4;
    const tq = (seg[p] as number) & 15;
    p++;
    if (p + 64 * (pq ? 2 : 1) > seg.length) corrupt(F, "DQT too short");
    const q = new Uint16Array(64); // natural order
    for (let i = 0; i < 64; i++) {
      q[ZIGZAG[i] as number] = pq ? u16(seg, p) : (seg[p] as number);
      p += pq ? 2 : 1;
    }
    if (tq > 3) corrupt(F, "bad DQT index");
    t.qt[tq] = q;
  }
}

function readDht(t: JpegTables, seg: Uint8Array): void {
  for (let p = 0; p < seg.length; ) {
    const tc = (seg[p] as number) >> 4;
    const th = (seg[p] as number) & 15;
    const counts = seg.subarray(p + 1, p + 17);
    if (counts.length < 16) corrupt(F, "DHT too short");
    const n = counts.reduce((a, b) => a + b, 0);
    if (th > 3 || tc > 1) corrupt(F, "bad DHT index");
    (tc === 0 ? t.dc : t.ac)[th] = buildHuffman(counts, seg.subarray(p + 17, p + 17 + n));
    p += 17 + n;
  }
}

/** A frame component with the decoder's state for it. */
export interface JpegComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Quantisation table, natural order (set at the first scan). */
  q: Uint16Array;
  /** Coefficients: one iMCU row (streaming) or the whole component, [blockRows, bw, 64] int16, natural order. */
  coefs: Int16Array;
  /** Blocks per row and block rows of the MCU-padded component. */
  bw: number;
  bh: number;
  /** libjpeg's downsampled_width / downsampled_height. */
  compW: number;
  compH: number;
  /** DC predictor. */
  pred: number;
  /** Successive-approximation state of coefficients 0..9 (libjpeg's coef_bits): -1 never sent. */
  bits: Int8Array;
}

export interface JpegFrame {
  width: number;
  height: number;
  progressive: boolean;
  comps: JpegComponent[];
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
}

/**
 * The colour space libjpeg assumes (jdapimin.c default_decompress_parms): 3 components are YCbCr unless an Adobe
 * marker says RGB (transform 0) or, without JFIF / Adobe markers, the ids spell "RGB"; 4 components are YCCK when an
 * Adobe marker has a transform other than 0, CMYK otherwise. libjpeg decides from the markers before the first scan,
 * so this is called there. RGB-coded files go to WASM.
 */
export function colourModel(frame: JpegFrame, t: JpegTables): ColourModel {
  const ids = frame.comps.map((c) => c.id);
  if (ids.length === 1) return "grey";
  if (ids.length === 4) return t.adobe > 0 ? "ycck" : "cmyk";
  if (!t.jfif && (t.adobe === 0 || (t.adobe < 0 && ids[0] === 82 && ids[1] === 71 && ids[2] === 66))) throw new TsJpegFallback("RGB-coded JPEG");
  return "ycc";
}

/** Parses an SOF segment: 8-bit Huffman frames only; 2-component or 5+-component frames go to WASM. */
export function readFrame(marker: number, seg: Uint8Array): JpegFrame {
  if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) unsupported("arithmetic-coded or lossless JPEG is not supported");
  if (seg.length < 6) corrupt(F, "SOF segment too short");
  if (seg[0] !== 8) unsupported(`${seg[0]}-bit samples`);
  const height = u16(seg, 1);
  const width = u16(seg, 3);
  const n = seg[5] as number;
  if (n !== 1 && n !== 3 && n !== 4) throw new TsJpegFallback(`${n} components`);
  if (seg.length < 6 + 3 * n) corrupt(F, "SOF segment too short");
  if (width === 0 || height === 0) corrupt(F, "invalid dimensions");
  const comps: JpegComponent[] = [];
  for (let i = 0, b = 6; i < n; i++, b += 3) {
    const hv = seg[b + 1] as number;
    // One component: libjpeg ignores its sampling factors (non-interleaved MCU = one block).
    const h = n === 1 ? 1 : hv >> 4;
    const v = n === 1 ? 1 : hv & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) corrupt(F, "bad sampling factors");
    comps.push({ id: seg[b] as number, h, v, tq: (seg[b + 2] as number) & 3, q: new Uint16Array(0), coefs: new Int16Array(0), bw: 0, bh: 0, compW: 0, compH: 0, pred: 0, bits: new Int8Array(10).fill(-1) });
  }
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  for (const c of comps) {
    c.bw = mcusX * c.h;
    c.bh = mcusY * c.v;
    c.compW = Math.ceil((width * c.h) / hmax);
    c.compH = Math.ceil((height * c.v) / vmax);
  }
  return { width, height, progressive: marker === 0xc2, comps, hmax, vmax, mcusX, mcusY };
}

/** A scan component with its tables (undefined when the scan does not use that table class). */
export interface ScanComp {
  c: JpegComponent;
  dc: Huffman | undefined;
  ac: Huffman | undefined;
}

export interface JpegScan {
  comps: ScanComp[];
  /** Spectral selection and successive approximation (progressive scans). */
  ss: number;
  se: number;
  ah: number;
  al: number;
}

/** Parses an SOS segment against the frame and the Huffman tables defined so far. */
export function readScan(seg: Uint8Array, frame: JpegFrame, t: JpegTables): JpegScan {
  const ns = seg[0] ?? 0;
  if (ns < 1 || ns > 4 || seg.length < 4 + 2 * ns) corrupt(F, "bad scan header");
  const comps: ScanComp[] = [];
  for (let i = 0; i < ns; i++) {
    const c = frame.comps.find((x) => x.id === seg[1 + 2 * i]);
    const td = seg[2 + 2 * i] as number;
    if (c === undefined) corrupt(F, "scan references a missing component");
    comps.push({ c, dc: t.dc[td >> 4], ac: t.ac[td & 15] });
  }
  const a = seg[3 + 2 * ns] as number;
  return { comps, ss: seg[1 + 2 * ns] as number, se: seg[2 + 2 * ns] as number, ah: a >> 4, al: a & 15 };
}
