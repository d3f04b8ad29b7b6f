/**
 * A minimal protobuf encoder for the parts of onnx.proto we write (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto with raw or external data, ValueInfoProto). Field numbers follow onnx/onnx.proto3.
 * @module
 */

/** ONNX TensorProto.DataType values. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, float16: 10 } as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;

/** Growable byte writer with protobuf wire-format helpers. */
export class PbWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  /** Varint of a non-negative or negative integer (negatives as 10-byte two's complement, as int64 requires). */
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    return this.varint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, build: (w: PbWriter) => void): this {
    const w = new PbWriter();
    build(w);
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: TensorProtoSpec };

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export interface TensorProtoSpec {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  /** Inline bytes; or `external` for data in a side file. */
  raw?: Uint8Array;
  external?: { location: string; offset: number; length: number };
}

export interface ValueInfoSpec {
  name: string;
  dtype: OnnxDType;
  /** Numbers are fixed sizes, strings symbolic dims. */
  dims: readonly (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorProtoSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
}

function writeTensor(w: PbWriter, t: TensorProtoSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, ONNX_DTYPE[t.dtype]);
  w.string(8, t.name);
  if (t.raw !== undefined) w.bytes(9, t.raw);
  if (t.external !== undefined) {
    const ext = t.external;
    const kv = (k: string, v: string): void => {
      w.message(13, (e) => e.string(1, k).string(2, v));
    };
    kv("location", ext.location);
    kv("offset", String(ext.offset));
    kv("length", String(ext.length));
    w.int(14, 1); // DataLocation.EXTERNAL
  }
}

function writeAttr(w: PbWriter, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === "number") {
    w.int(20, 2).int(3, v); // INT
  } else if (typeof v === "string") {
    w.int(20, 3).string(4, v); // STRING
  } else if (Array.isArray(v)) {
    w.int(20, 7); // INTS
    for (const x of v) w.int(8, x);
  } else if ("float" in v) {
    w.int(20, 1).float(2, v.float);
  } else if ("floats" in v) {
    w.int(20, 6);
    for (const x of v.floats) w.float(7, x);
  } else {
    w.int(20, 4).message(5, (t) => writeTensor(t, v.tensor));
  }
}

function writeValueInfo(w: PbWriter, v: ValueInfoSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, ONNX_DTYPE[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises a ModelProto (IR version 8) with the given opsets. */
export function encodeModel(graph: GraphSpec, opsets: Record<string, number>, producer = "siglip-edge"): Uint8Array {
  const w = new PbWriter();
  w.int(1, 8); // ir_version 8: opset 17/18, external data
  w.string(2, producer);
  w.string(3, "0.1.0");
  w.message(7, (g) => {
    for (const n of graph.nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name);
        nw.string(4, n.opType);
        for (const [k, v] of Object.entries(n.attrs ?? {})) nw.message(5, (a) => writeAttr(a, k, v));
        if (n.domain !== undefined) nw.string(7, n.domain);
      });
    }
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const i of graph.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of graph.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  });
  for (const [domain, version] of Object.entries(opsets)) w.message(8, (o) => o.string(1, domain).int(2, version));
  return w.finish();
}
