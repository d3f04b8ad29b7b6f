/**
 * Graph construction helpers: named values, nodes, and initializers that are written straight to an external-data
 * sink (so a graph's weights never accumulate in memory).
 * @module
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { SiglipError } from "@siglip-edge/core";
import { encodeModel, type AttrValue, type GraphSpec, type NodeSpec, type OnnxDType, type TensorProtoSpec, type ValueInfoSpec } from "./proto.ts";

/** Where initializer bytes go. `location` is the file name recorded in the graph (relative to the .onnx file). */
export interface WeightSink {
  location: string;
  /** Stores a tensor's bytes; `name` is the initializer's (sinks that index tensors by name need it). */
  append(bytes: Uint8Array, name?: string): { offset: number; length: number };
  /** Appends right after the previous write, without alignment (continues a tensor written in chunks). */
  appendRaw(bytes: Uint8Array): void;
  close(): void;
  /** Bytes written so far. */
  size(): number;
}

/** A sink writing to a file; tensors are 64-byte aligned (what onnx's own writer does for mmap-friendly loads). */
export function fileSink(path: string, location: string): WeightSink {
  const fd = openSync(path, "w");
  let pos = 0;
  const pad = new Uint8Array(64);
  return {
    location,
    append(bytes) {
      const gap = (64 - (pos % 64)) % 64;
      if (gap) {
        writeSync(fd, pad, 0, gap, pos);
        pos += gap;
      }
      const offset = pos;
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, pos + done);
      pos += bytes.byteLength;
      return { offset, length: bytes.byteLength };
    },
    appendRaw(bytes) {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, pos + done);
      pos += bytes.byteLength;
    },
    close() {
      closeSync(fd);
    },
    size: () => pos,
  };
}

/** Where one initializer's bytes lie in an external-data file. */
export interface Extent {
  offset: number;
  length: number;
}

/**
 * Wraps a sink and records every tensor's extent by initializer name (streamed tensors included: `appendRaw`
 * extends the last one), so later graphs can point at the same bytes (see `sharedDataSink`).
 */
export function recordingSink(inner: WeightSink): WeightSink & { extents: Map<string, Extent> } {
  const extents = new Map<string, Extent>();
  let last: Extent | null = null;
  return {
    location: inner.location,
    extents,
    append(bytes, name) {
      if (name === undefined) throw new SiglipError("INTERNAL", `${inner.location}: a recorded tensor needs a name`);
      if (extents.has(name)) throw new SiglipError("INTERNAL", `${inner.location}: initializer ${name} written twice`);
      last = { ...inner.append(bytes, name) };
      extents.set(name, last);
      return { ...last };
    },
    appendRaw(bytes) {
      inner.appendRaw(bytes);
      if (last !== null) last.length += bytes.byteLength;
    },
    close: () => inner.close(),
    size: () => inner.size(),
  };
}

/**
 * A sink that writes nothing: each initializer resolves to the extent the same name has in an existing data file
 * (`extents`, from `recordingSink`), so a second graph (a stage of a tower) shares the tower's weights instead of
 * copying them. Fails loudly (`INTERNAL`) when a name is missing, its length differs, or the bytes at that extent
 * are not the bytes this graph would have written (the file is read back and compared).
 * @param dataPath the existing data file, opened read-only for the comparison
 */
export function sharedDataSink(dataPath: string, location: string, extents: ReadonlyMap<string, Extent>): WeightSink {
  const fd = openSync(dataPath, "r");
  const fail = (msg: string): never => {
    throw new SiglipError("INTERNAL", `${location}: ${msg}`);
  };
  return {
    location,
    append(bytes, name) {
      if (name === undefined) return fail("a shared tensor needs a name");
      const e = extents.get(name);
      if (e === undefined) return fail(`initializer ${name} is not in the data file`);
      if (e.length !== bytes.byteLength) return fail(`initializer ${name} has ${bytes.byteLength} bytes, the data file holds ${e.length}`);
      const stored = new Uint8Array(e.length);
      let done = 0;
      while (done < e.length) {
        const n = readSync(fd, stored, done, e.length - done, e.offset + done);
        if (n === 0) return fail(`initializer ${name} lies past the end of the data file`);
        done += n;
      }
      if (!Buffer.from(stored.buffer).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) return fail(`initializer ${name} differs from the bytes at offset ${e.offset}`);
      return { offset: e.offset, length: e.length };
    },
    appendRaw() {
      fail("streamed tensors cannot be shared");
    },
    close() {
      closeSync(fd);
    },
    size: () => 0,
  };
}

export type TypedData = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

function asBytes(d: TypedData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorProtoSpec[] = [];
  readonly inputs: ValueInfoSpec[] = [];
  readonly outputs: ValueInfoSpec[] = [];
  private counter = 0;
  private readonly name: string;
  private readonly sink: WeightSink | null;

  /** @param sink external data for initializers over 1 KiB; `null` keeps everything inline. */
  constructor(name: string, sink: WeightSink | null) {
    this.name = name;
    this.sink = sink;
  }

  input(name: string, dtype: OnnxDType, dims: (number | string)[]): string {
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  output(name: string, dtype: OnnxDType, dims: (number | string)[]): void {
    this.outputs.push({ name, dtype, dims });
  }

  /** Adds an initializer; returns its name. */
  init(name: string, dtype: OnnxDType, dims: readonly number[], data: TypedData): string {
    const bytes = asBytes(data);
    if (this.sink !== null && bytes.byteLength > 1024) {
      this.initializers.push({ name, dtype, dims, external: { location: this.sink.location, ...this.sink.append(bytes, name) } });
    } else {
      this.initializers.push({ name, dtype, dims, raw: bytes.slice() });
    }
    return name;
  }

  /**
   * Adds a large initializer written chunk by chunk to the external data (never whole in memory). Requires a sink.
   * `chunks` yields the tensor's bytes in order.
   */
  async initStreamed(name: string, dtype: OnnxDType, dims: readonly number[], chunks: AsyncIterable<TypedData>): Promise<string> {
    const sink = this.sink;
    if (sink === null) throw new Error("initStreamed needs an external-data sink");
    let first: { offset: number; length: number } | null = null;
    let length = 0;
    for await (const c of chunks) {
      const b = asBytes(c);
      if (first === null) first = sink.append(b, name);
      else sink.appendRaw(b);
      length += b.byteLength;
    }
    this.initializers.push({ name, dtype, dims, external: { location: sink.location, offset: first?.offset ?? 0, length } });
    return name;
  }

  f32(values: number[], dims?: number[]): string {
    return this.init(`const_${this.counter++}`, "float32", dims ?? [values.length], Float32Array.from(values));
  }

  /** A float32 scalar (rank 0). */
  scalar(v: number): string {
    return this.init(`const_${this.counter++}`, "float32", [], Float32Array.of(v));
  }

  i64(values: number[]): string {
    return this.init(`const_${this.counter++}`, "int64", [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /** Adds a node and returns its output names. */
  opN(opType: string, inputs: string[], nOut: number, attrs?: Record<string, AttrValue>, domain?: string): string[] {
    const id = this.counter++;
    const outputs = Array.from({ length: nOut }, (_, i) => `${opType.toLowerCase()}_${id}${nOut > 1 ? `_${i}` : ""}`);
    const node: NodeSpec = { opType, inputs, outputs, name: `${opType}_${id}` };
    if (attrs !== undefined) node.attrs = attrs;
    if (domain !== undefined) node.domain = domain;
    this.nodes.push(node);
    return outputs;
  }

  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    return this.opN(opType, inputs, 1, attrs, domain)[0] as string;
  }

  /** Renames the output of the last node producing `value` to `name` (for graph outputs). */
  rename(value: string, name: string): void {
    for (const n of this.nodes) {
      n.outputs = n.outputs.map((o) => (o === value ? name : o));
      n.inputs = n.inputs.map((i) => (i === value ? name : i));
    }
  }

  spec(): GraphSpec {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  encode(opsets: Record<string, number> = { "": 17 }): Uint8Array {
    return encodeModel(this.spec(), opsets);
  }
}
