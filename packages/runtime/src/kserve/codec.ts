/**
 * The KServe v2 / Open Inference Protocol infer message codec, both directions (the client in client.ts and the dev
 * backend in packages/backend share it), in JSON and with Triton's binary tensor extension: the body is the JSON
 * header followed by raw little-endian row-major tensor bytes, `Inference-Header-Content-Length` gives the JSON
 * length, inputs carry `parameters.binary_data_size`, outputs ask for `binary_data` (or the request-level
 * `binary_data_output`). Everything read from the wire is validated (shape, datatype, byte counts, JSON); a bad
 * message becomes a `SiglipError` with the code the caller names (`BACKEND_BAD_RESPONSE` on the client,
 * `INVALID_ARGUMENT` on the server), never a tensor with the wrong size.
 * @module
 */
import { concatBytes, float16BitsToFloat32, float32ToFloat16Bits, numel, SiglipError, typedArrayOf, type DataTypeMap, type DType, type ErrorCode, type Tensor } from "@siglip-edge/core";

/** The header naming the JSON part's byte length in a binary-extension body. */
export const HEADER_LENGTH = "inference-header-content-length";

/** KServe v2 datatypes this codec carries, and the core dtype of each. */
export const DATATYPES = { FP32: "float32", FP16: "float16", INT32: "int32", INT64: "int64", UINT8: "uint8", INT8: "int8" } as const satisfies Record<string, DType>;
export type KsDatatype = keyof typeof DATATYPES;

export function toDatatype(dtype: DType): KsDatatype {
  const found = (Object.keys(DATATYPES) as KsDatatype[]).find((k) => DATATYPES[k] === dtype);
  if (found === undefined) throw new SiglipError("DTYPE_MISMATCH", `no KServe datatype for ${dtype}`);
  return found;
}

/** One tensor of an infer request or response as JSON (`data` absent when it travels in the binary section). */
export interface WireTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  data?: unknown[];
}

export interface InferRequestHeader {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: WireTensor[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

export interface InferResponseHeader {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: WireTensor[];
}

/** A body ready to send: bytes plus the headers that describe them. */
export interface EncodedBody {
  body: Uint8Array<ArrayBuffer>;
  headers: Record<string, string>;
}

const encoder = new TextEncoder();

function bad(code: ErrorCode, message: string, details?: Record<string, unknown>): SiglipError {
  return new SiglipError(code, message, details ? { details } : {});
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Raw bytes of a tensor's data (little-endian hosts: every platform we run on). */
function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Flat JSON numbers of a tensor (FP16 as numbers, INT64 as numbers: ids and shapes stay far below 2^53). */
function tensorJson(t: Tensor): number[] {
  if (t.dtype === "float16") return Array.from(t.data as Uint16Array, float16BitsToFloat32);
  if (t.dtype === "int64") return Array.from(t.data as BigInt64Array, Number);
  return Array.from(t.data as Exclude<DataTypeMap[DType], BigInt64Array>);
}

/** Joins a JSON header and binary chunks into one body with the extension's header. */
function joinBody(header: unknown, chunks: readonly Uint8Array[]): EncodedBody {
  const json = encoder.encode(JSON.stringify(header));
  if (chunks.length === 0) return { body: json, headers: { "content-type": "application/json" } };
  const body = concatBytes([json, ...chunks]);
  return { body, headers: { "content-type": "application/octet-stream", [HEADER_LENGTH]: String(json.byteLength) } };
}

function wireTensor(name: string, t: Tensor, binary: boolean, chunks: Uint8Array[]): WireTensor {
  const w: WireTensor = { name, shape: [...t.dims], datatype: toDatatype(t.dtype) };
  if (binary) {
    const bytes = tensorBytes(t);
    w.parameters = { binary_data_size: bytes.byteLength };
    chunks.push(bytes);
  } else {
    w.data = tensorJson(t);
  }
  return w;
}

export interface EncodeRequestOptions {
  /** Send inputs in the binary section (default true). */
  binary?: boolean;
  /** Outputs to return; default all. */
  outputs?: readonly string[];
  /** Ask for outputs in the binary section (default = `binary`). */
  binaryOutputs?: boolean;
  id?: string;
}

/** An infer request body: inputs as JSON or binary, outputs requested binary or JSON. */
export function encodeInferRequest(inputs: Readonly<Record<string, Tensor>>, o: EncodeRequestOptions = {}): EncodedBody {
  const binary = o.binary ?? true;
  const binOut = o.binaryOutputs ?? binary;
  const chunks: Uint8Array[] = [];
  const header: InferRequestHeader = { inputs: Object.entries(inputs).map(([name, t]) => wireTensor(name, t, binary, chunks)) };
  if (o.id !== undefined) header.id = o.id;
  if (o.outputs !== undefined) header.outputs = o.outputs.map((name) => ({ name, parameters: { binary_data: binOut } }));
  else if (binOut) header.parameters = { binary_data_output: true };
  return joinBody(header, chunks);
}

/** An infer response body; `binaryFor(name)` says which outputs travel in the binary section. */
export function encodeInferResponse(
  head: { model_name: string; model_version?: string; id?: string },
  outputs: Readonly<Record<string, Tensor>>,
  binaryFor: (name: string) => boolean,
): EncodedBody {
  const chunks: Uint8Array[] = [];
  const header: InferResponseHeader = { ...head, outputs: Object.entries(outputs).map(([name, t]) => wireTensor(name, t, binaryFor(name), chunks)) };
  return joinBody(header, chunks);
}

/** Splits a body into its JSON header and binary section (`headerLength` from the extension's HTTP header). */
export function splitBody(body: Uint8Array, headerLength: string | null, code: ErrorCode): { header: unknown; binary: Uint8Array } {
  let jsonLen = body.byteLength;
  if (headerLength !== null) {
    const n = Number(headerLength);
    if (!/^\d+$/.test(headerLength.trim()) || n > body.byteLength) {
      throw bad(code, `Inference-Header-Content-Length ${headerLength} does not fit a ${body.byteLength}-byte body`);
    }
    if (n === 0) throw bad(code, "Inference-Header-Content-Length 0 (a raw single-tensor body) is not supported here");
    jsonLen = n;
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(0, jsonLen)));
  } catch {
    throw bad(code, "the JSON part of the message is not valid JSON");
  }
  return { header, binary: body.subarray(jsonLen) };
}

function flatten(data: unknown, out: unknown[], depth: number, code: ErrorCode, name: string): void {
  if (depth > 16) throw bad(code, `tensor ${name}: data nests deeper than 16 levels`);
  if (Array.isArray(data)) for (const x of data) flatten(x, out, depth + 1, code, name);
  else out.push(data);
}

function fromJsonData(name: string, dtype: DType, flat: readonly unknown[], code: ErrorCode): DataTypeMap[DType] {
  for (const v of flat) if (typeof v !== "number" || !Number.isFinite(v)) throw bad(code, `tensor ${name}: a value is not a finite number`, { name });
  const nums = flat as number[];
  const intOk = (lo: number, hi: number) => nums.every((v) => Number.isInteger(v) && v >= lo && v <= hi);
  switch (dtype) {
    case "float32":
      return Float32Array.from(nums);
    case "float16":
      return Uint16Array.from(nums, float32ToFloat16Bits);
    case "int64":
      if (!intOk(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) throw bad(code, `tensor ${name}: INT64 values must be integers`, { name });
      return BigInt64Array.from(nums, (v) => BigInt(v));
    case "int32":
      if (!intOk(-(2 ** 31), 2 ** 31 - 1)) throw bad(code, `tensor ${name}: values out of INT32 range`, { name });
      return Int32Array.from(nums);
    case "uint8":
      if (!intOk(0, 255)) throw bad(code, `tensor ${name}: values out of UINT8 range`, { name });
      return Uint8Array.from(nums);
    case "int8":
      if (!intOk(-128, 127)) throw bad(code, `tensor ${name}: values out of INT8 range`, { name });
      return Int8Array.from(nums);
  }
}

function fromBytes(dtype: DType, bytes: Uint8Array): DataTypeMap[DType] {
  return typedArrayOf(dtype, bytes.slice().buffer); // aligned copy: the binary section may start at any offset
}

/** Element size of every KServe v2 datatype with a fixed size (BYTES elements are length-prefixed). */
export const DATATYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, INT8: 1, INT16: 2, INT32: 4, INT64: 8, FP16: 2, BF16: 2, FP32: 4, FP64: 8,
};

/** One tensor of a message as it travels: raw little-endian bytes (binary) or JSON values, any KServe datatype. */
export interface RawWireTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Binary section slice, when the tensor travelled there. */
  bytes?: Uint8Array;
  /** Flattened JSON values, when it travelled as JSON. */
  values?: unknown[];
}

/**
 * Reads the tensor list of a parsed header against the binary section, for every datatype: names, shapes, sizes,
 * slices in order. The binary section must be consumed exactly (a truncated or padded body is an error).
 */
export function readWireTensors(list: unknown, binary: Uint8Array, code: ErrorCode, what: string): RawWireTensor[] {
  if (!Array.isArray(list)) throw bad(code, `${what} is not a list`);
  const out: RawWireTensor[] = [];
  const names = new Set<string>();
  let off = 0;
  for (const w of list) {
    if (!isRecord(w) || typeof w["name"] !== "string") throw bad(code, `${what}: an entry has no name`);
    const name = w["name"];
    if (names.has(name)) throw bad(code, `tensor ${name} appears twice`, { name });
    names.add(name);
    const shape = w["shape"];
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
      throw bad(code, `tensor ${name}: shape must be a list of non-negative integers`, { name });
    }
    const datatype = w["datatype"];
    if (typeof datatype !== "string" || (!(datatype in DATATYPE_BYTES) && datatype !== "BYTES")) throw bad(code, `tensor ${name}: unknown datatype ${String(datatype)}`, { name });
    const dims = shape as number[];
    const n = numel(dims);
    const params = w["parameters"];
    const size = isRecord(params) ? params["binary_data_size"] : undefined;
    if (size !== undefined) {
      if (typeof size !== "number" || !Number.isInteger(size) || size < 0) throw bad(code, `tensor ${name}: binary_data_size must be a byte count`, { name });
      const el = DATATYPE_BYTES[datatype];
      if (el !== undefined && size !== n * el) throw bad(code, `tensor ${name}: binary_data_size ${size} is not ${n} x ${el} bytes`, { name });
      if (off + size > binary.byteLength) throw bad(code, `tensor ${name}: the binary section is truncated (${binary.byteLength - off} of ${size} bytes)`, { name });
      out.push({ name, datatype, shape: dims, bytes: binary.subarray(off, off + size) });
      off += size;
    } else {
      if (!("data" in w)) throw bad(code, `tensor ${name}: no data and no binary_data_size`, { name });
      const values: unknown[] = [];
      flatten(w["data"], values, 0, code, name);
      if (values.length !== n) throw bad(code, `tensor ${name}: ${values.length} values for a shape of ${n} elements`, { name });
      out.push({ name, datatype, shape: dims, values });
    }
  }
  if (off !== binary.byteLength) throw bad(code, `${binary.byteLength - off} bytes after the last binary tensor`);
  return out;
}

/** The tensors of a message as core tensors (the datatypes in `DATATYPES`; others are an error). */
export function readTensors(list: unknown, binary: Uint8Array, code: ErrorCode, what: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const w of readWireTensors(list, binary, code, what)) {
    if (!(w.datatype in DATATYPES)) throw bad(code, `tensor ${w.name}: datatype ${w.datatype} is not supported here (${Object.keys(DATATYPES).join(", ")})`, { name: w.name });
    const dtype = DATATYPES[w.datatype as KsDatatype];
    const data = w.bytes !== undefined ? fromBytes(dtype, w.bytes) : fromJsonData(w.name, dtype, w.values ?? [], code);
    out[w.name] = { dtype, dims: w.shape, data };
  }
  return out;
}

/** A decoded infer request (server side): inputs, and whether each requested output should be binary. */
export interface DecodedRequest {
  id: string | undefined;
  inputs: Record<string, Tensor>;
  /** Requested outputs (undefined: all). */
  outputs: string[] | undefined;
  binaryFor: (name: string) => boolean;
}

/** Parses an infer request body; errors are `INVALID_ARGUMENT` (HTTP 400 with `{"error": ...}`). */
export function decodeInferRequest(body: Uint8Array, headerLength: string | null): DecodedRequest {
  const code: ErrorCode = "INVALID_ARGUMENT";
  const { header, binary } = splitBody(body, headerLength, code);
  if (!isRecord(header)) throw bad(code, "the infer request is not a JSON object");
  const inputs = readTensors(header["inputs"], binary, code, "inputs");
  const params = header["parameters"];
  const allBinary = isRecord(params) && params["binary_data_output"] === true;
  const outs = header["outputs"];
  let outputs: string[] | undefined;
  const perOutput = new Map<string, boolean>();
  if (outs !== undefined) {
    if (!Array.isArray(outs)) throw bad(code, "outputs is not a list");
    outputs = outs.map((o) => {
      if (!isRecord(o) || typeof o["name"] !== "string") throw bad(code, "an output has no name");
      const p = o["parameters"];
      if (isRecord(p) && typeof p["binary_data"] === "boolean") perOutput.set(o["name"], p["binary_data"]);
      return o["name"];
    });
  }
  const id = header["id"];
  if (id !== undefined && typeof id !== "string") throw bad(code, "id must be a string");
  return { id, inputs, outputs, binaryFor: (name) => perOutput.get(name) ?? allBinary };
}

/** A decoded infer response (client side): outputs by name; anything malformed is `BACKEND_BAD_RESPONSE`. */
export function decodeInferResponse(body: Uint8Array, headerLength: string | null): { header: InferResponseHeader; outputs: Record<string, Tensor> } {
  const code: ErrorCode = "BACKEND_BAD_RESPONSE";
  const { header, binary } = splitBody(body, headerLength, code);
  if (!isRecord(header)) throw bad(code, "the infer response is not a JSON object");
  // model_name is required by the KServe spec; Triton's own binary-extension example omits it, so absent is accepted.
  if (header["model_name"] !== undefined && typeof header["model_name"] !== "string") throw bad(code, "model_name is not a string");
  const outputs = readTensors(header["outputs"], binary, code, "outputs");
  return { header: header as unknown as InferResponseHeader, outputs };
}
