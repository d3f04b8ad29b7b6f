import { maxAbsDiff, tensor } from "@siglip-edge/core";
import { workerdEngine } from "@siglip-edge/runtime/workerd";
import { describe, expect, it } from "vitest";
import graph from "../../../../packages/runtime/test/fixtures/affine-softmax-ext.onnx";
import weights from "../../../../packages/runtime/test/fixtures/affine-softmax-ext.onnx.data";
import expected from "../../../../packages/runtime/test/fixtures/expected.json";

describe("onnxruntime-web inside workerd", () => {
  it("runs a graph with external data and matches Python onnxruntime", async () => {
    const engine = workerdEngine();
    const session = await engine.createSession({
      kind: "bytes",
      graph: new Uint8Array(graph as ArrayBuffer),
      externalData: [{ path: "affine-softmax-ext.onnx.data", data: new Uint8Array(weights as ArrayBuffer) }],
    });
    const out = await session.run({ x: tensor("float32", expected.x.dims, Float32Array.from(expected.x.data)) });
    expect(maxAbsDiff(out["y"]?.data as Float32Array, expected.y.data)).toBeLessThan(1e-6);
    console.log(`workerd wasm memory: ${((engine.nativeMemoryBytes() ?? 0) / 2 ** 20).toFixed(1)} MiB`);
  });
});
