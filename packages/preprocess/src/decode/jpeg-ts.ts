/**
 * The pure-TS JPEG row decoder: grey, YCbCr, CMYK and YCCK, baseline and progressive Huffman, handing out RGB rows
 * one at a time so the resizer never needs the whole image. A baseline file whose first scan carries every component
 * is decoded MCU row by MCU row (only one MCU row of coefficients is held); progressive and non-interleaved files keep
 * the int16 coefficients (2 bytes per sample, as libjpeg does) and emit rows after the last scan. Markers:
 * `jpeg-markers.ts`; entropy decoding: `jpeg-entropy.ts`; IDCT, upsampling and colour: `jpeg-rows.ts`. Everything
 * follows libjpeg-turbo 3.1 with Pillow's settings (ISLOW, fancy upsampling), so rows equal Pillow's.
 * Files this path does not reproduce exactly (RGB-coded 3-component files, 2-component files, progressive files whose
 * scans leave coefficients unrefined, which libjpeg block-smooths) raise `TsJpegFallback` before any row is emitted,
 * and the caller then uses the WASM decoder; 4-component files, which WASM cannot output, get IMAGE_UNSUPPORTED_FORMAT
 * instead.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { corrupt } from "./bytes.ts";
import { decodeScan } from "./jpeg-entropy.ts";
import { colourModel, emptyTables, EOI, isSof, readFrame, readScan, readSegment, readTables, SOS, TsJpegFallback, unsupported, type JpegFrame, type JpegTables } from "./jpeg-markers.ts";
import { JpegRowEmitter, type JpegRowSink } from "./jpeg-rows.ts";

const F = "JPEG";
/** More scans than any encoder writes (libjpeg-turbo's own tools cap at 500); bounds work on hostile files. */
const MAX_SCANS = 1000;

/** What the decoder knows after the first scan header: the frame, how it is coded and where rows go. */
interface Decoding {
  frame: JpegFrame;
  emitter: JpegRowEmitter;
  /** Coefficients hold one MCU row and rows leave during the (only) scan. */
  streaming: boolean;
}

/**
 * Decodes a 1-, 3- or 4-component JPEG, calling `sink.row(y, rgb)` for y = 0..H-1 in order (rgb is [W * 3] uint8,
 * valid during the call only). Files that cannot stream (progressive, non-interleaved) hold their int16 coefficients
 * and are refused above `maxBufferedPixels`.
 * @throws TsJpegFallback (nothing emitted yet), SiglipError IMAGE_DECODE_FAILED / IMAGE_UNSUPPORTED_FORMAT / IMAGE_TOO_LARGE
 */
export function decodeJpegRows(bytes: Uint8Array, sink: JpegRowSink, maxBufferedPixels = Infinity): void {
  const tables = emptyTables();
  let frame: JpegFrame | undefined;
  let dec: Decoding | undefined;
  let scans = 0;
  for (let pos: number | undefined = 2; pos !== undefined; ) {
    const { marker, data, next } = readSegment(bytes, pos);
    pos = next;
    if (marker === EOI) break;
    if (isSof(marker)) {
      if (frame !== undefined) corrupt(F, "two frame headers");
      frame = readFrame(marker, data);
    } else if (marker === SOS) {
      if (frame === undefined) corrupt(F, "scan before frame header");
      if (++scans > MAX_SCANS) corrupt(F, `more than ${MAX_SCANS} scans`);
      const scan = readScan(data, frame, tables);
      const d = (dec ??= startDecoding(frame, tables, scan.comps.length, sink, maxBufferedPixels));
      const rowDone = d.streaming ? (my: number) => d.emitter.mcuRow(my) : undefined;
      pos = decodeScan(bytes, next, frame, scan, tables.restart, d.streaming, rowDone).scanEnd();
      if (d.streaming) break; // every row is out; what follows is not read (libjpeg would read on to EOI)
    } else readTables(tables, marker, data);
  }
  if (dec === undefined) corrupt(F, "no image data");
  if (!dec.streaming) emitBuffered(dec);
  dec.emitter.finish();
}

/**
 * At the first scan header: the colour model (from the markers seen so far, as libjpeg decides it), quantisation
 * tables, and whether the file streams: baseline with every component in this scan (the usual layout).
 */
function startDecoding(frame: JpegFrame, t: JpegTables, scanComps: number, sink: JpegRowSink, maxBufferedPixels: number): Decoding {
  const model = colourModel(frame, t);
  for (const c of frame.comps) {
    const q = t.qt[c.tq];
    if (q === undefined) corrupt(F, "missing quantisation table");
    c.q = q;
  }
  const streaming = !frame.progressive && scanComps === frame.comps.length;
  const { width, height } = frame;
  if (!streaming && width * height > maxBufferedPixels) {
    throw new SiglipError("IMAGE_TOO_LARGE", `JPEG: ${width}x${height} needs all its coefficients in memory (progressive or non-interleaved); limit ${maxBufferedPixels} pixels`, {
      details: { format: F, width, height, maxPixels: maxBufferedPixels },
    });
  }
  for (const c of frame.comps) c.coefs = new Int16Array((streaming ? c.v : c.bh) * c.bw * 64); // [block rows, bw, 64]
  return { frame, emitter: new JpegRowEmitter(frame, model, sink), streaming };
}

/** After the last scan of a buffered file: every iMCU row through the IDCT and out. */
function emitBuffered({ frame, emitter }: Decoding): void {
  if (frame.progressive) {
    // libjpeg block-smooths (jdcoefct.c) when a low-frequency coefficient was never fully refined: leave that to WASM.
    for (const c of frame.comps) {
      if ((c.bits[0] as number) >= 0 && c.bits.some((b, k) => k > 0 && b !== 0) && c.q[0] !== 0) {
        if (frame.comps.length === 4) unsupported("progressive CMYK/YCCK whose scans leave coefficients unrefined (libjpeg block-smooths them)");
        throw new TsJpegFallback("unrefined progressive coefficients");
      }
    }
  }
  for (let my = 0; my < frame.mcusY; my++) emitter.mcuRow(my);
}
