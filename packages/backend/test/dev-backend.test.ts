/**
 * The dev backend against the KServe v2 REST spec and Triton's binary extension, over real HTTP on 127.0.0.1:
 * health, metadata, repository index, infer in JSON and binary (batched), the `{"error": ...}` body with 400/404,
 * the spec's own example messages, and vectors equal to a local run of the same bundle.
 */
import { cosine, tensor } from "@siglip-edge/core";
import { fixresSamples, PIXEL_LUT, preprocessFixRes, preprocessFixResRgb } from "@siglip-edge/preprocess";
import {
  readManifest,
  decodeInferResponse,
  encodeInferRequest,
  engineTowers,
  HEADER_LENGTH,
  KServeClient,
  kserveTowers,
  openModel,
  type KServeTowerOptions,
  type KServeTowers,
  type ModelPipeline,
} from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevBackend, type DevBackend } from "../src/index.ts";
import { rawWriteFirst } from "./write-first.ts";
import { photo, TINY_ID, tinyBundle } from "./fixtures.ts";

let dir = "";
let backend: DevBackend;
let local: ModelPipeline;
let remote: ModelPipeline<KServeTowers>;
let remoteJson: ModelPipeline<KServeTowers>;
let client: KServeClient;

const openRemote = (o: Partial<KServeTowerOptions> = {}, manifest?: Awaited<ReturnType<typeof readManifest>>) =>
  openModel({ source: fsBundleSource(dir), towers: kserveTowers({ client, remoteName: "tiny-fixres", ...o }), id: TINY_ID, foldTokenIds: true, initDecoders: initNodeDecoders, ...(manifest ? { manifest } : {}) });

beforeAll(async () => {
  dir = await tinyBundle();
  backend = await startDevBackend({ bundles: [{ dir }] });
  client = new KServeClient({ url: backend.url });
  local = await openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine()), runsOn: "test", id: TINY_ID, foldTokenIds: true, initDecoders: initNodeDecoders });
  remote = await openRemote();
  remoteJson = await openRemote({ binary: false });
});
afterAll(async () => backend?.close());

const get = (path: string) => fetch(`${backend.url}${path}`);
const postJson = (path: string, body: unknown) => fetch(`${backend.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("health and metadata", () => {
  it("answers live and ready with 200 and an empty body, as Triton does", async () => {
    for (const p of ["/v2/health/live", "/v2/health/ready", "/v2/models/tiny-fixres-vision/ready", "/v2/models/tiny-fixres-text/versions/1/ready"]) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(await r.text()).toBe("");
    }
    expect(await client.live()).toBe(true);
    expect(await client.ready()).toBe(true);
    expect(await client.modelReady("tiny-fixres-text")).toBe(true);
  });

  it("serves server metadata {name, version, extensions} naming the binary extension", async () => {
    const m = await client.serverMetadata();
    expect(m.name).toBe("siglip-edge-dev-backend");
    expect(m.extensions).toContain("binary_tensor_data");
  });

  it("serves model metadata {name, versions, platform, inputs, outputs} for both towers", async () => {
    const v = await client.modelMetadata("tiny-fixres-vision");
    expect(v).toEqual({
      name: "tiny-fixres-vision",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "pixel_values", datatype: "FP32", shape: [-1, 3, 48, 48] }],
      outputs: [{ name: "pooler_output", datatype: "FP32", shape: [-1, 96] }],
    });
    const t = await client.modelMetadata("tiny-fixres-text", "1");
    expect(t.inputs).toEqual([{ name: "input_ids", datatype: "INT64", shape: [-1, 64] }]);
  });

  it("lists the repository index (Triton's POST /v2/repository/index)", async () => {
    const r = await postJson("/v2/repository/index", {});
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual([
      { name: "tiny-fixres-vision", version: "1", state: "READY" },
      { name: "tiny-fixres-text", version: "1", state: "READY" },
      { name: "tiny-fixres-vision-u8", version: "1", state: "READY" },
    ]);
  });
});

describe("errors use the documented {\"error\": ...} body", () => {
  it("404 for an unknown model, version or route", async () => {
    for (const [p, method] of [["/v2/models/nope", "GET"], ["/v2/models/tiny-fixres-text/versions/7", "GET"], ["/v2/models/nope/infer", "POST"], ["/v3", "GET"]] as const) {
      const r = await fetch(`${backend.url}${p}`, { method, ...(method === "POST" ? { body: "{}" } : {}) });
      expect(r.status, p).toBe(404);
      const j = (await r.json()) as { error: unknown };
      expect(typeof j.error, p).toBe("string");
    }
  });

  it("400 for bad JSON, a wrong input name, dtype or shape, a truncated binary section", async () => {
    const T = 64;
    const ids = tensor("int64", [1, T], new BigInt64Array(T));
    const cases: [string, () => Promise<Response>][] = [
      ["bad json", () => fetch(`${backend.url}/v2/models/tiny-fixres-text/infer`, { method: "POST", body: "{not json" })],
      ["wrong name", () => postJson("/v2/models/tiny-fixres-text/infer", { inputs: [{ name: "ids", shape: [1, T], datatype: "INT64", data: new Array(T).fill(0) }] })],
      ["wrong dtype", () => postJson("/v2/models/tiny-fixres-text/infer", { inputs: [{ name: "input_ids", shape: [1, T], datatype: "FP32", data: new Array(T).fill(0) }] })],
      ["wrong shape", () => postJson("/v2/models/tiny-fixres-text/infer", { inputs: [{ name: "input_ids", shape: [1, 8], datatype: "INT64", data: new Array(8).fill(0) }] })],
      ["data count", () => postJson("/v2/models/tiny-fixres-text/infer", { inputs: [{ name: "input_ids", shape: [1, T], datatype: "INT64", data: [1, 2] }] })],
      [
        "truncated binary",
        () => {
          const e = encodeInferRequest({ input_ids: ids });
          return fetch(`${backend.url}/v2/models/tiny-fixres-text/infer`, { method: "POST", headers: e.headers, body: e.body.slice(0, e.body.byteLength - 5) });
        },
      ],
    ];
    for (const [what, call] of cases) {
      const r = await call();
      expect(r.status, what).toBe(400);
      const j = (await r.json()) as { error: unknown };
      expect(typeof j.error, what).toBe("string");
    }
  });
});

describe("an oversized body", () => {
  it("is read to its end and answered 400 with {error}, also to a client that writes all before reading", async () => {
    const small = await startDevBackend({ bundles: [{ dir }], maxBodyBytes: 4 << 20 });
    try {
      const a = await rawWriteFirst(`${small.url}/v2/models/tiny-fixres-text/infer`, { "content-type": "application/json" }, 12 << 20);
      expect(a.status).toBe(400);
      expect(JSON.parse(a.body)).toEqual({ error: `request body is larger than ${4 << 20} bytes` });
    } finally {
      await small.close();
    }
  }, 60_000);
});

describe("the spec's own examples", () => {
  // KServe open-inference-protocol inference_rest.md and Triton docs/protocol/extension_binary_data.md, verbatim
  // in structure (sizes and datatypes); they name a model "mymodel" this server does not have.
  const kserveRequest = {
    id: "42",
    inputs: [
      { name: "input0", shape: [2, 2], datatype: "UINT32", data: [1, 2, 3, 4] },
      { name: "input1", shape: [3], datatype: "BOOL", data: [true] },
    ],
    outputs: [{ name: "output0" }],
  };

  it("the KServe JSON request example goes to an unknown model: 404 with {error}", async () => {
    const r = await postJson("/v2/models/mymodel/infer", kserveRequest);
    expect(r.status).toBe(404);
    expect(Object.keys((await r.json()) as object)).toEqual(["error"]);
  });

  it("the KServe example's BOOL input has 1 value for shape [3]: the codec reports it instead of guessing", async () => {
    const r = await postJson("/v2/models/tiny-fixres-text/infer", kserveRequest);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/input1: 1 values for a shape of 3 elements/);
  });

  it("the KServe response example is not valid JSON (no comma after \"id\"): a bad response, never data", () => {
    const text = '{\n  "id" : "42"\n  "outputs" : [\n    {\n      "name" : "output0",\n      "shape" : [ 3, 2 ],\n      "datatype"  : "FP32",\n      "data" : [ 1.0, 1.1, 2.0, 2.1, 3.0, 3.1 ]\n    }\n  ]\n}';
    expect(() => decodeInferResponse(new TextEncoder().encode(text), null)).toThrow(expect.objectContaining({ code: "BACKEND_BAD_RESPONSE" }));
    const fixed = text.replace('"42"\n', '"42",\n');
    const { outputs } = decodeInferResponse(new TextEncoder().encode(fixed), null);
    expect(outputs["output0"]?.dims).toEqual([3, 2]);
    expect(Array.from(outputs["output0"]?.data as Float32Array)).toEqual(Array.from(Float32Array.from([1.0, 1.1, 2.0, 2.1, 3.0, 3.1])));
  });

  it("Triton's binary request example (UINT32 [2,2] 16 bytes + BOOL [3] 3 bytes) is framed correctly and routed", async () => {
    const header = new TextEncoder().encode(JSON.stringify({
      model_name: "mymodel",
      inputs: [
        { name: "input0", shape: [2, 2], datatype: "UINT32", parameters: { binary_data_size: 16 } },
        { name: "input1", shape: [3], datatype: "BOOL", parameters: { binary_data_size: 3 } },
      ],
      outputs: [{ name: "output0", parameters: { binary_data: true } }],
    }));
    const body = new Uint8Array(header.byteLength + 19);
    body.set(header);
    new DataView(body.buffer).setUint32(header.byteLength, 1, true);
    body.set([1, 0, 1], header.byteLength + 16);
    const send = (path: string, hl: number) => fetch(`${backend.url}${path}`, { method: "POST", headers: { "content-type": "application/octet-stream", [HEADER_LENGTH]: String(hl) }, body });
    expect((await send("/v2/models/mymodel/infer", header.byteLength)).status).toBe(404);
    const wrongModel = await send("/v2/models/tiny-fixres-text/infer", header.byteLength);
    expect(wrongModel.status).toBe(400); // framing accepted; the inputs are not this model's
    expect(((await wrongModel.json()) as { error: string }).error).toMatch(/not supported here|takes one input/);
    const lying = await send("/v2/models/tiny-fixres-text/infer", header.byteLength + 3);
    expect(lying.status).toBe(400);
  });

  it("Triton's binary response example (FP32 [3, 2], 24 bytes, no model_name) decodes", () => {
    const header = new TextEncoder().encode(JSON.stringify({ outputs: [{ name: "output0", shape: [3, 2], datatype: "FP32", parameters: { binary_data_size: 24 } }] }));
    const vals = Float32Array.from([1, 1.1, 2, 2.1, 3, 3.1]);
    const body = new Uint8Array(header.byteLength + 24);
    body.set(header);
    body.set(new Uint8Array(vals.buffer), header.byteLength);
    const { outputs } = decodeInferResponse(body, String(header.byteLength));
    expect(Array.from(outputs["output0"]?.data as Float32Array)).toEqual(Array.from(vals));
    expect(() => decodeInferResponse(body.subarray(0, body.byteLength - 1), String(header.byteLength))).toThrow(/truncated/);
  });
});

describe("infer", () => {
  it("JSON and binary, batched, give the same tensors; float outputs are much smaller in binary", async () => {
    const B = 3;
    const T = 64;
    const ids = new BigInt64Array(B * T);
    for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 37) % 1000);
    const feeds = { input_ids: tensor("int64", [B, T], ids) };
    const bin = await client.infer("tiny-fixres-text", feeds, { outputs: ["pooler_output"] });
    const json = await client.infer("tiny-fixres-text", feeds, { outputs: ["pooler_output"], binary: false, id: "req-1" });
    expect(bin.outputs["pooler_output"]?.dims).toEqual([B, 96]);
    expect(Array.from(json.outputs["pooler_output"]?.data as Float32Array)).toEqual(Array.from(bin.outputs["pooler_output"]?.data as Float32Array));
    expect(bin.modelVersion).toBe("1");
    console.log(`text batch of ${B}: binary ${bin.bytesSent} B sent / ${bin.bytesReceived} B received; JSON ${json.bytesSent} / ${json.bytesReceived}`);
    // Floats shrink about 2.5x in binary; INT64 ids grow (8 bytes each vs 1-4 JSON digits), so text sends more.
    expect(bin.bytesReceived).toBeLessThan(json.bytesReceived / 2);
  });

  it("a response echoes the request id and honours per-output binary_data", async () => {
    const T = 64;
    const e = encodeInferRequest({ input_ids: tensor("int64", [1, T], new BigInt64Array(T)) }, { id: "abc", outputs: ["pooler_output"], binaryOutputs: false });
    const r = await fetch(`${backend.url}/v2/models/tiny-fixres-text/infer`, { method: "POST", headers: e.headers, body: e.body });
    expect(r.status).toBe(200);
    expect(r.headers.get(HEADER_LENGTH)).toBeNull(); // JSON output: no binary section
    const j = (await r.json()) as { id: string; model_name: string; outputs: { data: number[] }[] };
    expect(j.id).toBe("abc");
    expect(j.model_name).toBe("tiny-fixres-text");
    expect(j.outputs[0]?.data).toHaveLength(96);
  });
});

describe("vectors equal a local run of the same bundle", () => {
  const texts = ["a photo of a cat", "coins on a table", "ein Foto von einer Katze", ""];
  const images = [photo("skimage/chelsea.png"), photo("skimage/coins.png"), photo("skimage/astronaut.png")];

  it("text embeddings (binary and JSON), cosine >= 0.99999", async () => {
    const a = await local.embedTexts(texts);
    for (const r of [remote, remoteJson]) {
      const b = await r.embedTexts(texts);
      expect(b.tokens).toBe(a.tokens);
      const cos = a.embeddings.map((v, i) => cosine(v, b.embeddings[i] as Float32Array));
      console.log(`backend vs local text cosines (${r === remote ? "binary" : "json"}): ${cos.map((c) => c.toFixed(7)).join(" ")}`);
      for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.99999);
    }
  });

  it("image embeddings, cosine >= 0.99999", async () => {
    const a = await local.embedImages(images);
    const b = await remote.embedImages(images);
    const cos = a.map((v, i) => cosine(v, b[i] as Float32Array));
    console.log(`backend vs local image cosines: ${cos.map((c) => c.toFixed(7)).join(" ")}; wire: ${remote.towers.wire.calls} calls, ${remote.towers.wire.bytesSent} B sent, ${remote.towers.wire.bytesReceived} B received`);
    for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.99999);
  });
});

describe("uint8 pixels on the wire", () => {
  it("give bit-identical image embeddings to float32 pixels, for 4x fewer request bytes", async () => {
    const images = [photo("skimage/chelsea.png"), photo("skimage/coins.png"), photo("skimage/astronaut.png")];
    const f32 = await openRemote();
    const u8 = await openRemote({ pixelFormat: "uint8" });
    const a = await f32.embedImages(images);
    const b = await u8.embedImages(images);
    const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
    for (let i = 0; i < images.length; i++) expect(bits(b[i] as Float32Array)).toEqual(bits(a[i] as Float32Array));
    const l = await local.embedImages(images);
    for (let i = 0; i < images.length; i++) expect(cosine(l[i] as Float32Array, b[i] as Float32Array)).toBeGreaterThanOrEqual(0.99999);
    console.log(`3 images, 48 px: float32 pixels ${f32.towers.wire.bytesSent} B sent, uint8 pixels ${u8.towers.wire.bytesSent} B sent (bit-identical embeddings)`);
    expect(u8.towers.wire.bytesSent).toBeLessThan(f32.towers.wire.bytesSent / 3.5);
  });

  it("are the resized image's own bytes in CHW order: the pixel table maps them onto the float path's values, bit for bit", async () => {
    await initNodeDecoders();
    for (const [name, S] of [["skimage/chelsea.png", 48], ["matplotlib/grace_hopper.jpg", 224], ["skimage/astronaut.png", 37]] as const) {
      const sized = await preprocessFixResRgb(photo(name), { size: S, resample: "bilinear" });
      const samples = fixresSamples(sized);
      const floats = (await preprocessFixRes(photo(name), { size: S, resample: "bilinear" })).data;
      expect(samples.length, name).toBe(3 * S * S);
      const mapped = Float32Array.from(samples, (v) => PIXEL_LUT[v] as number);
      expect(new Uint32Array(mapped.buffer), name).toEqual(new Uint32Array(floats.buffer, floats.byteOffset, floats.length));
      // channel-first: the first plane is the red samples of the [S, S, 3] image
      expect(samples[1], name).toBe(sized.data[3]);
      expect(samples[S * S], name).toBe(sized.data[1]);
    }
  });
});

describe("contract checks before the first call", () => {
  it("both towers of the dev backend match the bundle's contract", async () => {
    await remote.towers.checkTower("text");
    await remote.towers.checkTower("vision");
    expect(remote.towers.contract().vision.inputs).toEqual([{ name: "pixel_values", datatype: "FP32", shape: [-1, 3, 48, 48] }]);
  });

  it("a backend model whose metadata differs from the bundle is refused with what differs, before any infer", async () => {
    const manifest = await readManifest(fsBundleSource(dir));
    const wrong = await openRemote({}, { ...manifest, sizes: { ...manifest.sizes, embedDim: 95 } });
    const before = backend.counts.infer;
    await expect(wrong.embedTexts(["x"])).rejects.toMatchObject({ code: "BACKEND_BAD_RESPONSE", message: expect.stringMatching(/does not take the contract's output pooler_output FP32 \[-1, 95\] \(it lists pooler_output FP32 \[-1, 96\]\)/) });
    expect(backend.counts.infer).toBe(before);
  });

  it("a model name the backend does not serve: BACKEND_UNAVAILABLE (not ready)", async () => {
    const manifest = await readManifest(fsBundleSource(dir));
    const missing = await openRemote({ remoteName: "nope" }, manifest);
    await expect(missing.embedImages([{ width: 48, height: 48, channels: 3, data: new Uint8Array(48 * 48 * 3) }])).rejects.toMatchObject({ code: "BACKEND_UNAVAILABLE", message: expect.stringMatching(/nope-vision is not ready/) });
  });
});
