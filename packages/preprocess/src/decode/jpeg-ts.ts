/**
 * Pure-TS greyscale / YCbCr JPEG decoding (baseline and progressive Huffman) that hands out RGB rows one at a time,
 * so the resizer never needs the whole image: a baseline file with interleaved scans is decoded MCU row by MCU row
 * (only one MCU row of coefficients is held); progressive and non-interleaved files keep the int16 coefficients
 * (2 bytes per sample, as libjpeg does) and emit rows after the last scan. Entropy decoding, ISLOW IDCT and range
 * limit come from the CMYK port (`jpeg-cmyk.ts`); upsampling and colour conversion are in `jpeg-rows.ts`.
 * Everything follows libjpeg-turbo 3.1 with Pillow's settings (ISLOW, fancy upsampling), so rows equal Pillow's.
 * Files this path does not reproduce exactly (RGB-coded 3-component files, progressive files whose scans leave
 * coefficients unrefined, which libjpeg block-smooths) raise `TsJpegFallback` before any row is emitted; the caller
 * then uses the WASM decoder.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { corrupt } from "./bytes.ts";
import { BitReader, buildHuffman, extend, ZIGZAG, type Huffman } from "./jpeg-cmyk.ts";
import { JpegRowEmitter, type FrameComponent, type JpegRowSink } from "./jpeg-rows.ts";

const F = "JPEG";
/** More scans than any encoder writes (libjpeg-turbo's own tools cap at 500); bounds work on hostile files. */
const MAX_SCANS = 1000;

/** Raised before any row is emitted when only the WASM decoder reproduces Pillow for this file. */
export class TsJpegFallback extends Error {}

export type { JpegRowSink } from "./jpeg-rows.ts";

interface Comp extends FrameComponent {
  id: number;
  tq: number;
  pred: number;
  /** Successive-approximation state of coefficients 0..9 (libjpeg's coef_bits): -1 never sent. */
  bits: Int8Array;
}

interface ScanComp {
  c: Comp;
  dc: Huffman | undefined;
  ac: Huffman | undefined;
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * Decodes a 1- or 3-component JPEG, calling `sink.row(y, rgb)` for y = 0..H-1 in order (rgb is [W * 3] uint8, valid
 * during the call only). Files that cannot stream (progressive, non-interleaved) hold their int16 coefficients and
 * are refused above `maxBufferedPixels`.
 * @throws TsJpegFallback (nothing emitted yet), SiglipError IMAGE_DECODE_FAILED / IMAGE_UNSUPPORTED_FORMAT
 */
export function decodeJpegRows(bytes: Uint8Array, sink: JpegRowSink, maxBufferedPixels = Infinity): void {
  const qt: (Uint16Array | undefined)[] = [];
  const dcT: (Huffman | undefined)[] = [];
  const acT: (Huffman | undefined)[] = [];
  let comps: Comp[] = [];
  let width = 0;
  let height = 0;
  let restart = 0;
  let progressive = false;
  let jfif = false;
  let adobe = -1;
  let emitter: JpegRowEmitter | undefined;
  let streaming = false;
  let scans = 0;
  let mcusX = 0;
  let mcusY = 0;
  let pos = 2;
  const u16 = (p: number) => ((bytes[p] ?? 0) << 8) | (bytes[p + 1] ?? 0);
  for (;;) {
    if (pos + 2 > bytes.length) corrupt(F, "file is truncated");
    if (bytes[pos] !== 0xff) corrupt(F, "expected a marker");
    let marker = bytes[pos + 1] as number;
    while (marker === 0xff && pos + 2 < bytes.length) marker = bytes[++pos + 1] as number;
    pos += 2;
    if (marker === 0xd9) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
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
        if (p + 64 * (pq ? 2 : 1) > seg.length) corrupt(F, "DQT too short");
        const t = new Uint16Array(64);
        for (let i = 0; i < 64; i++) {
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
        if (th > 3 || tc > 1) corrupt(F, "bad DHT index");
        (tc === 0 ? dcT : acT)[th] = buildHuffman(counts, symbols);
        p += 17 + n;
      }
    } else if (marker === 0xdd) {
      if (seg.length < 2) corrupt(F, "DRI too short");
      restart = u16(pos - len + 2);
    } else if (marker === 0xe0 && seg.length >= 5 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 && seg[3] === 0x46 && seg[4] === 0) {
      jfif = true;
    } else if (marker === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe") {
      adobe = seg[11] as number;
    } else if (isSof(marker)) {
      if (emitter !== undefined) corrupt(F, "two frame headers");
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
        throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", "JPEG: arithmetic-coded or lossless JPEG is not supported", { details: { format: F } });
      }
      if (seg.length < 6) corrupt(F, "SOF segment too short");
      if (seg[0] !== 8) throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", `JPEG: ${seg[0]}-bit samples`, { details: { format: F } });
      progressive = marker === 0xc2;
      height = u16(pos - len + 3);
      width = u16(pos - len + 5);
      const n = seg[5] as number;
      if (n !== 1 && n !== 3) throw new TsJpegFallback(`${n} components`);
      if (seg.length < 6 + 3 * n) corrupt(F, "SOF segment too short");
      if (width === 0 || height === 0) corrupt(F, "invalid dimensions");
      comps = [];
      for (let i = 0; i < n; i++) {
        const b = 6 + 3 * i;
        const hv = seg[b + 1] as number;
        // One component: libjpeg ignores its sampling factors (non-interleaved MCU = one block).
        const h = n === 1 ? 1 : hv >> 4;
        const v = n === 1 ? 1 : hv & 15;
        if (h < 1 || h > 4 || v < 1 || v > 4) corrupt(F, "bad sampling factors");
        comps.push({ id: seg[b] as number, h, v, tq: (seg[b + 2] as number) & 3, pred: 0, bits: new Int8Array(10).fill(-1), q: new Uint16Array(0), coefs: new Int16Array(0), bw: 0, bh: 0, compW: 0, compH: 0 });
      }
      if (n === 3 && !jfif && (adobe === 0 || (adobe < 0 && comps[0]?.id === 82 && comps[1]?.id === 71 && comps[2]?.id === 66))) {
        throw new TsJpegFallback("RGB-coded JPEG");
      }
      const hmax = Math.max(...comps.map((c) => c.h));
      const vmax = Math.max(...comps.map((c) => c.v));
      mcusX = Math.ceil(width / (8 * hmax));
      mcusY = Math.ceil(height / (8 * vmax));
      for (const c of comps) {
        c.bw = mcusX * c.h;
        c.bh = mcusY * c.v;
      }
      emitter = new JpegRowEmitter(width, height, comps, hmax, vmax, sink);
    } else if (marker === 0xda) {
      if (emitter === undefined) corrupt(F, "scan before frame header");
      if (++scans > MAX_SCANS) corrupt(F, `more than ${MAX_SCANS} scans`);
      const ns = seg[0] ?? 0;
      if (ns < 1 || ns > 4 || seg.length < 4 + 2 * ns) corrupt(F, "bad scan header");
      const sc: ScanComp[] = [];
      for (let i = 0; i < ns; i++) {
        const c = comps.find((x) => x.id === seg[1 + 2 * i]);
        const t = seg[2 + 2 * i] as number;
        if (c === undefined) corrupt(F, "scan references a missing component");
        sc.push({ c, dc: dcT[t >> 4], ac: acT[t & 15] });
      }
      const ss = seg[1 + 2 * ns] as number;
      const se = seg[2 + 2 * ns] as number;
      const ah = (seg[3 + 2 * ns] as number) >> 4;
      const al = (seg[3 + 2 * ns] as number) & 15;
      if (scans === 1) {
        for (const c of comps) {
          const q = qt[c.tq];
          if (q === undefined) corrupt(F, "missing quantisation table");
          c.q = q;
        }
        // Stream only a baseline file whose first scan carries every component (the usual layout).
        streaming = !progressive && ns === comps.length;
        if (!streaming && width * height > maxBufferedPixels) {
          throw new SiglipError("IMAGE_TOO_LARGE", `JPEG: ${width}x${height} needs all its coefficients in memory (progressive or non-interleaved); limit ${maxBufferedPixels} pixels`, {
            details: { format: F, width, height, maxPixels: maxBufferedPixels },
          });
        }
        for (const c of comps) {
          c.coefs = new Int16Array((streaming ? c.v : c.bh) * c.bw * 64);
        }
      }
      const r = new BitReader(bytes, pos);
      if (progressive) {
        progressiveScan(r, sc, ss, se, ah, al, restart, mcusX, mcusY, bytes);
      } else {
        if (sc.some((s) => s.dc === undefined || s.ac === undefined)) corrupt(F, "scan references a missing Huffman table");
        sequentialScan(r, sc, restart, mcusX, mcusY, bytes, streaming ? emitter : undefined);
      }
      if (r.eof) corrupt(F, "file is truncated");
      if (r.marker === 0xd9) break;
      if (r.marker !== -1 && !(r.marker >= 0xd0 && r.marker <= 0xd7)) {
        pos = r.pos - 2;
      } else {
        pos = r.pos;
        while (pos + 1 < bytes.length && !(bytes[pos] === 0xff && bytes[pos + 1] !== 0 && bytes[pos + 1] !== 0xff && !((bytes[pos + 1] as number) >= 0xd0 && (bytes[pos + 1] as number) <= 0xd7))) pos++;
      }
      if (streaming) break; // every row is out; libjpeg does not read past the last MCU either
    }
  }
  if (emitter === undefined || scans === 0) corrupt(F, "no image data");
  if (streaming) return;
  if (progressive) {
    // libjpeg block-smooths (jdcoefct.c) when a low-frequency coefficient was never fully refined: leave that to WASM.
    for (const c of comps) {
      if ((c.bits[0] as number) >= 0 && c.bits.some((b, k) => k > 0 && b !== 0) && c.q[0] !== 0) throw new TsJpegFallback("unrefined progressive coefficients");
    }
  }
  for (let my = 0; my < mcusY; my++) emitter.mcuRow(my);
  emitter.finish();
}

function restartSync(r: BitReader, bytes: Uint8Array): void {
  if (r.marker >= 0xd0 && r.marker <= 0xd7) {
    r.reset();
    return;
  }
  // Find the RST marker (libjpeg resyncs the same way on well-formed files).
  r.reset();
  while (r.pos + 1 < bytes.length && !(bytes[r.pos] === 0xff && (bytes[r.pos + 1] as number) >= 0xd0 && (bytes[r.pos + 1] as number) <= 0xd7)) r.pos++;
  r.pos += 2;
}

function decodeBlock(r: BitReader, s: ScanComp, coefs: Int16Array, off: number): void {
  const c = s.c;
  const dc = s.dc as Huffman;
  const ac = s.ac as Huffman;
  const t = r.decode(dc);
  if (t > 16) corrupt(F, "bad DC coefficient");
  c.pred = (c.pred + extend(r.receive(t), t)) | 0;
  coefs[off] = c.pred;
  for (let k = 1; k < 64; ) {
    const rs = r.decode(ac);
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
    coefs[off + (ZIGZAG[k] as number)] = extend(r.receive(size), size);
    k++;
  }
}

/** Baseline / extended sequential Huffman scan; with `emitter`, coefficients are one MCU row and rows go out as decoded. */
function sequentialScan(r: BitReader, sc: ScanComp[], restart: number, mcusX: number, mcusY: number, bytes: Uint8Array, emitter: JpegRowEmitter | undefined): void {
  for (const s of sc) s.c.pred = 0;
  let m = 0;
  const step = (): void => {
    if (restart > 0 && m > 0 && m % restart === 0) {
      restartSync(r, bytes);
      for (const s of sc) s.c.pred = 0;
    }
    m++;
  };
  if (sc.length === 1) {
    // Non-interleaved: one block per MCU over the component's own block grid.
    const s = sc[0] as ScanComp;
    const c = s.c;
    const bw = Math.ceil(c.compW / 8);
    const bh = Math.ceil(c.compH / 8);
    for (let by = 0; by < bh; by++) {
      const rowBase = emitter === undefined ? by : 0;
      if (emitter !== undefined) c.coefs.fill(0);
      for (let bx = 0; bx < bw; bx++) {
        step();
        decodeBlock(r, s, c.coefs, (rowBase * c.bw + bx) * 64);
        if (r.eof) corrupt(F, "file is truncated");
      }
      // One component streams only when it is the whole image (grey): its block row is the iMCU row.
      if (emitter !== undefined) emitter.mcuRow(by);
    }
    if (emitter !== undefined) for (let by = bh; by < mcusY; by++) emitter.mcuRow(by);
  } else {
    for (let my = 0; my < mcusY; my++) {
      if (emitter !== undefined) for (const s of sc) s.c.coefs.fill(0);
      for (let mx = 0; mx < mcusX; mx++) {
        step();
        for (const s of sc) {
          const c = s.c;
          for (let v = 0; v < c.v; v++) {
            const by = (emitter === undefined ? my * c.v : 0) + v;
            for (let h = 0; h < c.h; h++) decodeBlock(r, s, c.coefs, (by * c.bw + mx * c.h + h) * 64);
          }
        }
        if (r.eof) corrupt(F, "file is truncated");
      }
      if (emitter !== undefined) emitter.mcuRow(my);
    }
  }
  if (emitter !== undefined) emitter.finish();
}

/** One progressive scan (jdphuff.c): DC first/refine (may interleave), AC first/refine (one component). */
function progressiveScan(r: BitReader, sc: ScanComp[], ss: number, se: number, ah: number, al: number, restart: number, mcusX: number, mcusY: number, bytes: Uint8Array): void {
  const dcScan = ss === 0;
  if (dcScan ? se !== 0 : se < ss || se > 63 || sc.length !== 1) corrupt(F, "bad progression parameters");
  if (al > 13 || (ah !== 0 && ah !== al + 1)) corrupt(F, "bad successive approximation");
  for (const s of sc) {
    if (dcScan && ah === 0 && s.dc === undefined) corrupt(F, "scan references a missing Huffman table");
    if (!dcScan && s.ac === undefined) corrupt(F, "scan references a missing Huffman table");
    for (let k = ss; k <= Math.min(se, 9); k++) s.c.bits[k] = al;
    s.c.pred = 0;
  }
  let eobrun = 0;
  let m = 0;
  const step = (): void => {
    if (restart > 0 && m > 0 && m % restart === 0) {
      restartSync(r, bytes);
      for (const s of sc) s.c.pred = 0;
      eobrun = 0;
    }
    m++;
  };
  const p1 = 1 << al;
  const m1 = -1 << al;
  const block = (s: ScanComp, off: number): void => {
    const co = s.c.coefs;
    if (dcScan) {
      if (ah === 0) {
        const t = r.decode(s.dc as Huffman);
        if (t > 16) corrupt(F, "bad DC coefficient");
        s.c.pred = (s.c.pred + extend(r.receive(t), t)) | 0;
        co[off] = s.c.pred * p1; // LEFT_SHIFT then the JCOEF (int16) store
      } else if (r.bit()) co[off] = (co[off] as number) | p1;
      return;
    }
    const ac = s.ac as Huffman;
    if (ah === 0) {
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      for (let k = ss; k <= se; k++) {
        const rs = r.decode(ac);
        const run = rs >> 4;
        const size = rs & 15;
        if (size !== 0) {
          k += run;
          if (k > 63) corrupt(F, "coefficient index out of range");
          co[off + (ZIGZAG[k] as number)] = extend(r.receive(size), size) * p1;
        } else if (run === 15) {
          k += 15;
        } else {
          eobrun = (1 << run) + (run > 0 ? r.receive(run) : 0) - 1;
          break;
        }
      }
      return;
    }
    // AC refinement (decode_mcu_AC_refine).
    let k = ss;
    const refine = (z: number): void => {
      const v = co[z] as number;
      if (r.bit() && (v & p1) === 0) co[z] = v >= 0 ? v + p1 : v + m1;
    };
    if (eobrun === 0) {
      for (; k <= se; k++) {
        const rs = r.decode(ac);
        let run = rs >> 4;
        let s = rs & 15;
        if (s !== 0) {
          s = r.bit() ? p1 : m1;
        } else if (run !== 15) {
          eobrun = (1 << run) + (run > 0 ? r.receive(run) : 0);
          break;
        }
        do {
          const z = off + (ZIGZAG[Math.min(k, 63)] as number);
          if ((co[z] as number) !== 0) refine(z);
          else if (--run < 0) break;
          k++;
        } while (k <= se);
        if (s !== 0) co[off + (ZIGZAG[Math.min(k, 63)] as number)] = s;
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const z = off + (ZIGZAG[k] as number);
        if ((co[z] as number) !== 0) refine(z);
      }
      eobrun--;
    }
  };
  if (sc.length === 1) {
    const s = sc[0] as ScanComp;
    const c = s.c;
    const bw = Math.ceil(c.compW / 8);
    const bh = Math.ceil(c.compH / 8);
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        step();
        block(s, (by * c.bw + bx) * 64);
        if (r.eof) corrupt(F, "file is truncated");
      }
    }
  } else {
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        step();
        for (const s of sc) {
          const c = s.c;
          for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) block(s, ((my * c.v + v) * c.bw + mx * c.h + h) * 64);
        }
        if (r.eof) corrupt(F, "file is truncated");
      }
    }
  }
}
