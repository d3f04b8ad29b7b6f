/**
 * The one JPEG entropy decoder, a port of libjpeg-turbo 3.1's Huffman decoding: the bit reader (0xFF00 unstuffing,
 * stops at markers; codes through the tables' 9-bit lookahead, jdhuff.c), sequential blocks (jdhuff.c decode_mcu) and progressive DC / AC first and refinement scans (jdphuff.c), and the MCU walk of a scan with its
 * restart intervals, the same for every colour model.
 * @module
 */
import { corrupt } from "./bytes.ts";
import { EOI, extend, isRst, ZIGZAG, type Huffman, type JpegFrame, type JpegScan, type ScanComp } from "./jpeg-markers.ts";

const F = "JPEG";

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
          this.marker = EOI;
        } else {
          byte = this.b[this.pos++] as number;
          if (byte === 0xff) {
            let next = this.b[this.pos] ?? -1;
            while (next === 0xff) next = this.b[++this.pos] ?? -1; // fill bytes
            if (next === 0) this.pos++;
            else {
              this.marker = next < 0 ? EOI : next;
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

  /** An AC run and value from `h.acFast` when they fit in the next 9 bits (consumed), else 0 (nothing consumed). */
  acFast(h: Huffman): number {
    if (this.bits < 16) this.fill();
    const f = h.acFast[(this.acc >>> (this.bits - 9)) & 511] as number;
    this.bits -= f & 15;
    return f;
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

  /** At a restart boundary: drops buffered bits and moves past the RSTn marker (searching for it if not reached). */
  restart(): void {
    const found = isRst(this.marker);
    this.acc = 0;
    this.bits = 0;
    this.marker = -1;
    if (found) return;
    // libjpeg resyncs the same way on well-formed files.
    const b = this.b;
    while (this.pos + 1 < b.length && !(b[this.pos] === 0xff && isRst(b[this.pos + 1] as number))) this.pos++;
    this.pos += 2;
  }

  /**
   * After a scan: where the next marker starts, or `undefined` at EOI. Skips leftover entropy bytes and RST markers.
   * @throws IMAGE_DECODE_FAILED when the data ended inside the scan
   */
  scanEnd(): number | undefined {
    if (this.eof) corrupt(F, "file is truncated");
    if (this.marker === EOI) return undefined;
    if (this.marker !== -1 && !isRst(this.marker)) return this.pos - 2; // the reader consumed the next marker
    const b = this.b;
    let pos = this.pos;
    while (pos + 1 < b.length && !(b[pos] === 0xff && b[pos + 1] !== 0 && b[pos + 1] !== 0xff && !isRst(b[pos + 1] as number))) pos++;
    return pos;
  }
}

/** Decodes one block of a scan into `s.c.coefs` at `off`; `restart` resets per-interval state. */
interface BlockDecoder {
  block(s: ScanComp, off: number): void;
  restart(): void;
}

/** DC difference (jdhuff.c): Huffman-coded size, then that many bits, sign-extended. */
function dcDiff(r: BitReader, dc: Huffman): number {
  const t = r.decode(dc);
  if (t > 16) corrupt(F, "bad DC coefficient");
  return extend(r.receive(t), t);
}

/** Baseline / extended sequential blocks (jdhuff.c decode_mcu). */
class SequentialBlocks implements BlockDecoder {
  private readonly r: BitReader;

  constructor(r: BitReader) {
    this.r = r;
  }

  block(s: ScanComp, off: number): void {
    const r = this.r;
    const c = s.c;
    const co = c.coefs;
    const ac = s.ac as Huffman;
    c.pred = (c.pred + dcDiff(r, s.dc as Huffman)) | 0;
    co[off] = c.pred;
    for (let k = 1; k < 64; k++) {
      const f = r.acFast(ac);
      let v = f >> 8;
      if (f !== 0) k += (f >> 4) & 15;
      else {
        const rs = r.decode(ac);
        const size = rs & 15;
        if (size === 0) {
          if (rs !== 0xf0) break; // EOB; ZRL skips 16 zeros
          k += 15;
          continue;
        }
        k += rs >> 4;
        v = extend(r.receive(size), size);
      }
      if (k > 63) corrupt(F, "coefficient index out of range");
      co[off + (ZIGZAG[k] as number)] = v;
    }
  }

  restart(): void {}
}

/** Progressive blocks (jdphuff.c): DC first / refine (may interleave), AC first / refine (one component). */
class ProgressiveBlocks implements BlockDecoder {
  private readonly r: BitReader;
  private readonly scan: JpegScan;
  private readonly p1: number;
  private readonly m1: number;
  private eobrun = 0;

  constructor(r: BitReader, scan: JpegScan) {
    this.r = r;
    this.scan = scan;
    this.p1 = 1 << scan.al;
    this.m1 = -1 << scan.al;
  }

  restart(): void {
    this.eobrun = 0;
  }

  block(s: ScanComp, off: number): void {
    const { ss, ah } = this.scan;
    if (ss === 0) {
      const co = s.c.coefs;
      if (ah === 0) {
        s.c.pred = (s.c.pred + dcDiff(this.r, s.dc as Huffman)) | 0;
        co[off] = s.c.pred * this.p1; // LEFT_SHIFT then the JCOEF (int16) store
      } else if (this.r.bit()) co[off] = (co[off] as number) | this.p1;
    } else if (ah === 0) this.acFirst(s, off);
    else this.acRefine(s, off);
  }

  /** decode_mcu_AC_first. */
  private acFirst(s: ScanComp, off: number): void {
    if (this.eobrun > 0) {
      this.eobrun--;
      return;
    }
    const r = this.r;
    const co = s.c.coefs;
    const ac = s.ac as Huffman;
    for (let k = this.scan.ss; k <= this.scan.se; k++) {
      const rs = r.decode(ac);
      const run = rs >> 4;
      const size = rs & 15;
      if (size !== 0) {
        k += run;
        if (k > 63) corrupt(F, "coefficient index out of range");
        co[off + (ZIGZAG[k] as number)] = extend(r.receive(size), size) * this.p1;
      } else if (run === 15) {
        k += 15;
      } else {
        this.eobrun = (1 << run) + (run > 0 ? r.receive(run) : 0) - 1;
        break;
      }
    }
  }

  /** decode_mcu_AC_refine. */
  private acRefine(s: ScanComp, off: number): void {
    const r = this.r;
    const co = s.c.coefs;
    const ac = s.ac as Huffman;
    const { se } = this.scan;
    const { p1, m1 } = this;
    const refine = (z: number): void => {
      const v = co[z] as number;
      if (r.bit() && (v & p1) === 0) co[z] = v >= 0 ? v + p1 : v + m1;
    };
    let k = this.scan.ss;
    if (this.eobrun === 0) {
      for (; k <= se; k++) {
        const rs = r.decode(ac);
        let run = rs >> 4;
        let v = rs & 15;
        if (v !== 0) {
          v = r.bit() ? p1 : m1;
        } else if (run !== 15) {
          this.eobrun = (1 << run) + (run > 0 ? r.receive(run) : 0);
          break;
        }
        do {
          const z = off + (ZIGZAG[Math.min(k, 63)] as number);
          if ((co[z] as number) !== 0) refine(z);
          else if (--run < 0) break;
          k++;
        } while (k <= se);
        if (v !== 0) co[off + (ZIGZAG[Math.min(k, 63)] as number)] = v;
      }
    }
    if (this.eobrun > 0) {
      for (; k <= se; k++) {
        const z = off + (ZIGZAG[k] as number);
        if ((co[z] as number) !== 0) refine(z);
      }
      this.eobrun--;
    }
  }
}

/** Checks a progressive scan's parameters and records which coefficients it sends (libjpeg's coef_bits). */
function startProgressive(scan: JpegScan): void {
  const { ss, se, ah, al } = scan;
  const dcScan = ss === 0;
  if (dcScan ? se !== 0 : se < ss || se > 63 || scan.comps.length !== 1) corrupt(F, "bad progression parameters");
  if (al > 13 || (ah !== 0 && ah !== al + 1)) corrupt(F, "bad successive approximation");
  for (const s of scan.comps) {
    if (dcScan ? ah === 0 && s.dc === undefined : s.ac === undefined) corrupt(F, "scan references a missing Huffman table");
    for (let k = ss; k <= Math.min(se, 9); k++) s.c.bits[k] = al;
  }
}

/**
 * Decodes one scan. Interleaved scans walk the frame's MCU grid (each component's h x v blocks per MCU); a
 * one-component scan walks that component's own block grid, one block per MCU. `rowDone(my)` runs after each MCU
 * row; with `streaming`, coefficients hold one MCU row (cleared before each) instead of the whole component.
 * @returns the reader, positioned after the scan's last MCU
 */
export function decodeScan(bytes: Uint8Array, pos: number, frame: JpegFrame, scan: JpegScan, restart: number, streaming: boolean, rowDone?: (my: number) => void): BitReader {
  const { progressive, mcusX, mcusY } = frame;
  const r = new BitReader(bytes, pos);
  if (progressive) startProgressive(scan);
  else if (scan.comps.some((s) => s.dc === undefined || s.ac === undefined)) corrupt(F, "scan references a missing Huffman table");
  const blocks: BlockDecoder = progressive ? new ProgressiveBlocks(r, scan) : new SequentialBlocks(r);
  const sc = scan.comps;
  const one = sc.length === 1;
  const first = (sc[0] as ScanComp).c;
  const rows = one ? Math.ceil(first.compH / 8) : mcusY;
  const cols = one ? Math.ceil(first.compW / 8) : mcusX;
  for (const s of sc) s.c.pred = 0;
  for (let my = 0, m = 0; my < rows; my++) {
    if (streaming) for (const s of sc) s.c.coefs.fill(0);
    for (let mx = 0; mx < cols; mx++, m++) {
      if (restart > 0 && m > 0 && m % restart === 0) {
        r.restart();
        for (const s of sc) s.c.pred = 0;
        blocks.restart();
      }
      for (const s of sc) {
        const c = s.c;
        const h = one ? 1 : c.h;
        const v = one ? 1 : c.v;
        const base = streaming ? 0 : my * v;
        for (let y = 0; y < v; y++) for (let x = 0; x < h; x++) blocks.block(s, ((base + y) * c.bw + mx * h + x) * 64);
      }
      if (r.eof) corrupt(F, "file is truncated");
    }
    rowDone?.(my);
  }
  return r;
}
