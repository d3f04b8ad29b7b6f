import { maxAbsDiff, tensor } from "@siglip-edge/core";
import { verifyStreamed, type BundleSource, type RangedFile } from "@siglip-edge/runtime";
import { workerdEngine } from "@siglip-edge/runtime/workerd";
import { describe, expect, it } from "vitest";
import { readBodyInto } from "../../src/tower-protocol.ts";
import graph from "../../../../fixtures/engine-graphs/affine-softmax-ext.onnx";
import weights from "../../../../fixtures/engine-graphs/affine-softmax-ext.onnx.data";
import expected from "../../../../fixtures/engine-graphs/expected.json";

const x = () => tensor("float32", expected.x.dims, Float32Array.from(expected.x.data));

/** The fixture's weight file behind a ranged reader that records every range asked for. */
function recordingFile(bytes: Uint8Array, kind: "chunks" | "body"): { file: RangedFile; ranges: [number, number][] } {
  const ranges: [number, number][] = [];
  const file: RangedFile = {
    size: bytes.byteLength,
    async openRange(offset, length) {
      ranges.push([offset, length]);
      const part = bytes.slice(offset, offset + length);
      // "body": a Response body, a byte stream with BYOB reads, as R2 and fetch give in workerd.
      if (kind === "body") return new Response(part).body as ReadableStream<Uint8Array>;
      // "chunks": a plain stream of two views of one buffer.
      const half = Math.floor(part.byteLength / 2);
      return new ReadableStream({
        start(c) {
          c.enqueue(part.subarray(0, half));
          c.enqueue(part.subarray(half));
          c.close();
        },
      });
    },
  };
  return { file, ranges };
}

describe("onnxruntime-web inside workerd", () => {
  it("runs a graph with external data and matches Python onnxruntime", async () => {
    const engine = workerdEngine();
    const session = await engine.createSession({
      kind: "bytes",
      graph: new Uint8Array(graph as ArrayBuffer),
      externalData: [{ path: "affine-softmax-ext.onnx.data", data: new Uint8Array(weights as ArrayBuffer) }],
    });
    const out = await session.run({ x: x() });
    expect(maxAbsDiff(out["y"]?.data as Float32Array, expected.y.data)).toBeLessThan(1e-6);
    console.log(`workerd wasm memory: ${((engine.nativeMemoryBytes() ?? 0) / 2 ** 20).toFixed(1)} MiB`);
  });

  it("fills pre-allocated outputs (patched build, microsoft/onnxruntime#25786) with the same values", async () => {
    const engine = workerdEngine();
    expect(engine.fillsOutputs).toBe(true);
    const session = await engine.createSession({
      kind: "bytes",
      graph: new Uint8Array(graph as ArrayBuffer),
      externalData: [{ path: "affine-softmax-ext.onnx.data", data: new Uint8Array(weights as ArrayBuffer) }],
    });
    const own = (await session.run({ x: x() }))["y"]?.data as Float32Array;
    const into = new Float32Array(own.length).fill(Number.NaN);
    const out = await session.run({ x: x() }, ["y"], { y: tensor("float32", expected.y.dims, into) });
    expect(out["y"]?.data).toBe(into); // the caller's array, written in place
    expect(maxAbsDiff(into, own)).toBe(0);
    // Reused: a second run overwrites it with the same values.
    into.fill(0);
    await session.run({ x: x() }, ["y"], { y: tensor("float32", expected.y.dims, into) });
    expect(maxAbsDiff(into, own)).toBe(0);
  });

  it("reads a request body into a reused buffer with BYOB reads (its memory moves, nothing is allocated)", async () => {
    const post = (n: number) => new Request("https://t/", { method: "POST", body: Uint8Array.from({ length: n }, (_, i) => i + 1) }).body;
    const into = new Uint8Array(8);
    const got = await readBodyInto(post(8), into);
    expect(Array.from(got)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(into.byteLength).toBe(0); // detached: the bytes were read into its memory, now `got`'s
    await expect(readBodyInto(post(7), got)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(readBodyInto(post(9), new Uint8Array(8))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it.each(["body", "chunks"] as const)("streams ranged external data tensor by tensor (JSPI build) with the same result (%s)", async (kind) => {
    const engine = workerdEngine();
    expect(engine.streamsExternalData).toBe(true);
    const bytes = new Uint8Array(weights as ArrayBuffer);
    const { file, ranges } = recordingFile(bytes, kind);
    const session = await engine.createSession({ kind: "bytes", graph: new Uint8Array(graph as ArrayBuffer), externalData: [{ path: "affine-softmax-ext.onnx.data", data: file }] });
    const out = await session.run({ x: x() });
    expect(maxAbsDiff(out["y"]?.data as Float32Array, expected.y.data)).toBeLessThan(1e-6);
    // One read per initializer, none of them the whole file: ORT pulled tensors, not the file.
    console.log(`streamed external data: ${ranges.length} ranged reads of ${bytes.byteLength} bytes: ${JSON.stringify(ranges)}`);
    expect(ranges.length).toBeGreaterThan(1);
    for (const [, length] of ranges) expect(length).toBeLessThan(bytes.byteLength);
    // ORT 1.30 may read a small tensor twice (here the 20-byte bias); the distinct ranges cover the file at most once.
    const distinct = [...new Set(ranges.map((r) => r.join(":")))].map((r) => r.split(":").map(Number) as [number, number]);
    expect(distinct.reduce((a, [, n]) => a + n, 0)).toBeLessThanOrEqual(bytes.byteLength);
  });

  it("verifies a weight file while streaming it (BYOB into one buffer, incremental SHA-256)", async () => {
    const bytes = new Uint8Array(weights as ArrayBuffer);
    const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    let wholeReads = 0;
    const source = (data: Uint8Array): BundleSource => ({
      location: "mem://",
      read: async () => {
        wholeReads++;
        return data;
      },
      readRange: async (_p, o, n) => data.slice(o, o + n),
      stream: async () => new Response(data as Uint8Array<ArrayBuffer>).body as ReadableStream<Uint8Array>,
    });
    await verifyStreamed(source(bytes), "w.data", { size: bytes.byteLength, sha256: sha });
    expect(wholeReads).toBe(0); // the streaming path, not the whole-file fallback
    const corrupt = bytes.slice();
    corrupt[7] = (corrupt[7] as number) ^ 1;
    await expect(verifyStreamed(source(corrupt), "w.data", { size: bytes.byteLength, sha256: sha })).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
    await expect(verifyStreamed(source(bytes.subarray(1)), "w.data", { size: bytes.byteLength, sha256: sha })).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
  });
});
