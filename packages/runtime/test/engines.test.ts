import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { maxAbsDiff, tensor } from "@siglip-edge/core";
import { describe, expect, it } from "vitest";
import type { InferenceEngine, ModelSource } from "../src/index.ts";
import { createNodeEngine, createWebEngineForNode } from "../src/node/index.ts";

const dir = fileURLToPath(new URL("../../../fixtures/engine-graphs/", import.meta.url));
const expected = JSON.parse(readFileSync(`${dir}expected.json`, "utf8")) as {
  x: { dims: number[]; data: number[] };
  y: { dims: number[]; data: number[] };
};
const x = tensor("float32", expected.x.dims, Float32Array.from(expected.x.data));

async function runOnce(engine: InferenceEngine, model: ModelSource): Promise<Float32Array> {
  const session = await engine.createSession(model);
  expect(session.inputNames).toEqual(["x"]);
  const out = await session.run({ x });
  await session.release();
  const y = out["y"];
  expect(y?.dims).toEqual(expected.y.dims);
  return y?.data as Float32Array;
}

const inline: ModelSource = { kind: "bytes", graph: readFileSync(`${dir}affine-softmax.onnx`) };
const external: ModelSource = {
  kind: "bytes",
  graph: readFileSync(`${dir}affine-softmax-ext.onnx`),
  externalData: [{ path: "affine-softmax-ext.onnx.data", data: readFileSync(`${dir}affine-softmax-ext.onnx.data`) }],
};

describe("engines reproduce Python onnxruntime on a seeded graph", () => {
  it("onnxruntime-node: bytes and a path with external data", async () => {
    const engine = createNodeEngine();
    expect(maxAbsDiff(await runOnce(engine, inline), expected.y.data)).toBeLessThan(1e-6);
    const fromPath = await runOnce(engine, { kind: "path", path: `${dir}affine-softmax-ext.onnx` });
    expect(maxAbsDiff(fromPath, expected.y.data)).toBeLessThan(1e-6);
    await expect(engine.createSession(external)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("onnxruntime-web (precompiled module through the instantiate hook): inline and external data", async () => {
    const engine = await createWebEngineForNode();
    const a = await runOnce(engine, inline);
    const b = await runOnce(engine, external);
    expect(maxAbsDiff(a, expected.y.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(b, expected.y.data)).toBeLessThan(1e-6);
    const wasmBytes = engine.nativeMemoryBytes();
    console.log(`onnxruntime-web wasm memory after two sessions: ${((wasmBytes ?? 0) / 2 ** 20).toFixed(1)} MiB`);
    expect(wasmBytes).toBeGreaterThan(0);
  });

  it("a corrupt graph is a typed MODEL_LOAD_FAILED, not a crash", async () => {
    const garbage: ModelSource = { kind: "bytes", graph: new Uint8Array([1, 2, 3, 4]) };
    await expect(createNodeEngine().createSession(garbage)).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
    await expect((await createWebEngineForNode()).createSession(garbage)).rejects.toMatchObject({
      code: "MODEL_LOAD_FAILED",
    });
  });
});
