/** The KServe v2 codec: round trips for every carried dtype in JSON and binary, framing and validation errors. */
import { tensor, type Tensor } from "@siglip-edge/core";
import { describe, expect, it } from "vitest";
import { decodeInferRequest, decodeInferResponse, encodeInferRequest, encodeInferResponse, HEADER_LENGTH, readWireTensors } from "../src/kserve/codec.ts";

const inputs: Record<string, Tensor> = {
  // Not -0: JSON has no negative zero (JSON.stringify(-0) is "0"); binary keeps it, JSON cannot.
  f32: tensor("float32", [2, 3], Float32Array.from([0.1, -2, 3.5, 1e-30, 7, 3.4028234663852886e38])),
  f16: tensor("float16", [2], Uint16Array.from([0x3c00, 0xc000])), // 1.0, -2.0
  i64: tensor("int64", [1, 3], BigInt64Array.from([0n, 255999n, -1n])),
  i32: tensor("int32", [3], Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1])),
  u8: tensor("uint8", [4], Uint8Array.from([0, 1, 254, 255])),
  i8: tensor("int8", [2], Int8Array.from([-128, 127])),
};

function same(a: Tensor, b: Tensor | undefined): void {
  expect(b?.dtype).toBe(a.dtype);
  expect(b?.dims).toEqual(a.dims);
  expect(Array.from(b?.data as ArrayLike<number | bigint>)).toEqual(Array.from(a.data as ArrayLike<number | bigint>));
}

describe("codec", () => {
  for (const binary of [true, false]) {
    it(`request and response round-trip every dtype (${binary ? "binary" : "JSON"})`, () => {
      const e = encodeInferRequest(inputs, { binary, outputs: ["f32"], id: "x" });
      expect(e.headers[HEADER_LENGTH] !== undefined).toBe(binary);
      const d = decodeInferRequest(e.body, e.headers[HEADER_LENGTH] ?? null);
      for (const [k, t] of Object.entries(inputs)) same(t, d.inputs[k]);
      expect(d.outputs).toEqual(["f32"]);
      expect(d.binaryFor("f32")).toBe(binary);
      expect(d.id).toBe("x");
      const r = encodeInferResponse({ model_name: "m" }, inputs, () => binary);
      const back = decodeInferResponse(r.body, r.headers[HEADER_LENGTH] ?? null);
      for (const [k, t] of Object.entries(inputs)) same(t, back.outputs[k]);
    });
  }

  it("binary_data_output asks for every output in binary, a per-output binary_data overrides it", () => {
    const e = encodeInferRequest({ a: inputs["u8"] as Tensor }, { binary: true });
    expect(decodeInferRequest(e.body, e.headers[HEADER_LENGTH] ?? null).binaryFor("anything")).toBe(true);
    const body = new TextEncoder().encode(JSON.stringify({ inputs: [], parameters: { binary_data_output: true }, outputs: [{ name: "o", parameters: { binary_data: false } }] }));
    const d = decodeInferRequest(body, null);
    expect([d.binaryFor("o"), d.binaryFor("p")]).toEqual([false, true]);
  });

  it("nested JSON data is read row-major", () => {
    const body = new TextEncoder().encode(JSON.stringify({ model_name: "m", outputs: [{ name: "o", shape: [2, 2], datatype: "INT32", data: [[1, 2], [3, 4]] }] }));
    expect(Array.from(decodeInferResponse(body, null).outputs["o"]?.data as Int32Array)).toEqual([1, 2, 3, 4]);
  });

  it("rejects bad framing, sizes, shapes, datatypes and values with BACKEND_BAD_RESPONSE", () => {
    const r = encodeInferResponse({ model_name: "m" }, { o: inputs["f32"] as Tensor }, () => true);
    const hl = r.headers[HEADER_LENGTH] ?? "";
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify({ model_name: "m", outputs: [o] }));
    const bad: [string, Uint8Array, string | null, RegExp][] = [
      ["padded", new Uint8Array([...r.body, 0]), hl, /bytes after the last binary tensor/],
      ["header length past the body", r.body, String(r.body.byteLength + 1), /does not fit/],
      ["header length not a number", r.body, "12a", /does not fit/],
      ["raw body (length 0)", r.body, "0", /not supported/],
      ["size not dims x dtype", enc({ name: "o", shape: [2], datatype: "FP32", parameters: { binary_data_size: 4 } }), null, /is not 2 x 4 bytes/],
      ["negative dim", enc({ name: "o", shape: [-1], datatype: "FP32", data: [] }), null, /non-negative integers/],
      ["unknown datatype", enc({ name: "o", shape: [1], datatype: "FP8", data: [1] }), null, /unknown datatype/],
      ["uncarried datatype", enc({ name: "o", shape: [1], datatype: "UINT32", data: [1] }), null, /not supported here/],
      ["string value", enc({ name: "o", shape: [1], datatype: "FP32", data: ["1"] }), null, /not a finite number/],
      ["int out of range", enc({ name: "o", shape: [1], datatype: "UINT8", data: [256] }), null, /UINT8 range/],
      ["no data", enc({ name: "o", shape: [1], datatype: "FP32" }), null, /no data/],
      ["not an object", new TextEncoder().encode("[1]"), null, /not a JSON object/],
    ];
    for (const [what, body, h, re] of bad) {
      expect(() => decodeInferResponse(body, h), what).toThrow(expect.objectContaining({ code: "BACKEND_BAD_RESPONSE", message: expect.stringMatching(re) }));
    }
  });

  it("reads the framing of datatypes it does not carry (BOOL, UINT32, BYTES) for validation", () => {
    const w = readWireTensors([{ name: "b", shape: [3], datatype: "BOOL", parameters: { binary_data_size: 3 } }, { name: "s", shape: [1], datatype: "BYTES", parameters: { binary_data_size: 6 } }], new Uint8Array(9), "INVALID_ARGUMENT", "inputs");
    expect(w.map((t) => [t.name, t.bytes?.byteLength])).toEqual([["b", 3], ["s", 6]]);
  });
});
