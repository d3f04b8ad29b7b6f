/**
 * The uint8 pixel wire format: the edge sends resized RGB samples as UINT8 [B, 3, S, S] (4x fewer bytes than FP32)
 * and the backend turns them into `pixel_values` inside a graph, by looking each sample up in the very table the
 * edge's preprocessing uses (`PIXEL_LUT` of @siglip-edge/preprocess: HF's rescale + normalise, float32). A lookup
 * (Cast to INT32, Gather from a 256-entry initializer) is bit-identical by construction, where Cast + Mul + Sub could
 * round differently from HF's float64 rescale. This module writes that small ONNX graph (a minimal protobuf writer:
 * the graph has two nodes and one initializer).
 * @module
 */
import { PIXEL_LUT } from "@siglip-edge/preprocess";

class Pb {
  readonly parts: number[] = [];
  varint(v: number): void {
    let x = v;
    while (x > 0x7f) {
      this.parts.push((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    this.parts.push(x);
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }
  bytes(field: number, b: Uint8Array | number[]): void {
    this.tag(field, 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, build: (w: Pb) => void): void {
    const w = new Pb();
    build(w);
    this.bytes(field, w.parts);
  }
}

const FLOAT = 1;
const UINT8 = 2;
const INT32 = 6;

function valueInfo(w: Pb, field: number, name: string, elem: number, dims: (number | string)[]): void {
  w.msg(field, (v) => {
    v.string(1, name);
    v.msg(2, (t) =>
      t.msg(1, (tt) => {
        tt.int(1, elem);
        tt.msg(2, (shape) => {
          for (const d of dims) shape.msg(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
        });
      }),
    );
  });
}

/** Input and output names of the pixel graph. */
export const PIXELS_INPUT = "pixels";
export const PIXELS_OUTPUT = "pixel_values";

/**
 * The pixel graph: `pixels` UINT8 [B, 3, S, S] -> `pixel_values` FP32 [B, 3, S, S], `pixel_values = LUT[pixels]`.
 * @returns ONNX model bytes (opset 13)
 */
export function pixelGraph(S: number): Uint8Array {
  const m = new Pb();
  m.int(1, 7); // ir_version
  m.string(2, "siglip-edge");
  m.msg(7, (g) => {
    g.msg(1, (n) => {
      n.string(1, PIXELS_INPUT);
      n.string(2, "idx");
      n.string(3, "cast");
      n.string(4, "Cast");
      n.msg(5, (a) => {
        a.string(1, "to");
        a.int(3, INT32);
        a.int(20, 2); // AttributeType INT
      });
    });
    g.msg(1, (n) => {
      n.string(1, "lut");
      n.string(1, "idx");
      n.string(2, PIXELS_OUTPUT);
      n.string(3, "lookup");
      n.string(4, "Gather");
      n.msg(5, (a) => {
        a.string(1, "axis");
        a.int(3, 0);
        a.int(20, 2);
      });
    });
    g.string(2, "uint8_pixels_to_pixel_values");
    g.msg(5, (t) => {
      t.int(1, 256);
      t.int(2, FLOAT);
      t.string(8, "lut");
      const lut = Float32Array.from(PIXEL_LUT);
      t.bytes(9, new Uint8Array(lut.buffer));
    });
    valueInfo(g, 11, PIXELS_INPUT, UINT8, ["batch", 3, S, S]);
    valueInfo(g, 12, PIXELS_OUTPUT, FLOAT, ["batch", 3, S, S]);
  });
  m.msg(8, (o) => {
    o.string(1, "");
    o.int(2, 13);
  });
  return Uint8Array.from(m.parts);
}
