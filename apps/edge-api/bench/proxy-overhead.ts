/**
 * What the backend proxy costs: latency of the edge API on Node -> dev backend (both on 127.0.0.1) against calling
 * the dev backend directly with the same prepared tensors, and bytes on the wire per text and per image (binary
 * extension with FP32 or UINT8 pixels, vs JSON), measured on the tiny bundle and computed for the real checkpoint
 * shapes.
 * Usage: node apps/edge-api/bench/proxy-overhead.ts   (BENCH_N to change the request count, default 200; also the
 * second part of `npm run bench -w @siglip-edge/edge-api`)
 */
import { loadavg } from "node:os";
import { encodeInferRequest, encodeInferResponse, KServeClient, kserveTowers, openModel } from "@siglip-edge/runtime";
import { fsBundleSource } from "@siglip-edge/runtime/node";
import { tensor } from "@siglip-edge/core";
import { fixresSamples, preprocessFixRes, preprocessFixResRgb } from "@siglip-edge/preprocess";
import { initNodeDecoders } from "@siglip-edge/preprocess/node";
import { startDevBackend } from "@siglip-edge/backend";
import { photo, TINY_ID, tinyBundle } from "@siglip-edge/export/testing";
import { createApp } from "../src/app.ts";
import { parseBackendRoutes, routedProvider } from "../src/backend-routing.ts";
import { DEFAULT_CONFIG } from "../src/config.ts";
import { serveFetch } from "../src/node/server.ts";

const N = Number(process.env["BENCH_N"] ?? 200);

function stats(ms: number[]): { p50: number; p90: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  return { p50: q(0.5), p90: q(0.9), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(); // warm-up: sessions, connections, JIT
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const dir = await tinyBundle();
const backend = await startDevBackend({ bundles: [{ dir }] });
const client = new KServeClient({ url: backend.url });
const remote = await openModel({ source: fsBundleSource(dir), towers: kserveTowers({ client, remoteName: "tiny-fixres" }), id: TINY_ID, foldTokenIds: true, initDecoders: initNodeDecoders });
const vars = { MODEL_BACKENDS: JSON.stringify({ backends: { gpu: { url: backend.url } }, models: [{ id: "tiny@gpu", backend: "gpu", name: "tiny-fixres", bundle: dir, foldTokenIds: true }] }) };
const none = { list: async () => [], get: () => Promise.reject(new Error("none")) };
const app = createApp({ config: { ...DEFAULT_CONFIG, maxConcurrent: 4 }, models: routedProvider(none, parseBackendRoutes(vars), vars, { source: fsBundleSource }) });
const api = await serveFetch((r) => app.fetch(r), 0);

const png = photo("skimage/coins.png");
const dataUri = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
const px = (await preprocessFixRes(png, { size: 48, resample: "bilinear" })).data;
const ids = new BigInt64Array(64).map((_, i) => BigInt((i * 13) % 1000));
const postApi = (input: unknown) => fetch(`${api.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny@gpu", input }) }).then((r) => r.json());

const rows: [string, number[]][] = [];
rows.push(["text: dev backend direct (KServe infer, ids ready)", await time(N, () => client.infer("tiny-fixres-text", { input_ids: tensor("int64", [1, 64], ids) }, { outputs: ["pooler_output"] }))]);
rows.push(["text: openModel on KServe towers, in-process (tokenize + infer)", await time(N, () => remote.embedTexts(["a photo of a cat"]))]);
rows.push(["text: edge API /v1/embeddings -> dev backend", await time(N, () => postApi("a photo of a cat"))]);
rows.push(["image: dev backend direct (KServe infer, pixels ready)", await time(N, () => client.infer("tiny-fixres-vision", { pixel_values: tensor("float32", [1, 3, 48, 48], px) }, { outputs: ["pooler_output"] }))]);
rows.push(["image: openModel on KServe towers, in-process (decode + preprocess + infer)", await time(N, () => remote.embedImages([png]))]);
rows.push(["image: edge API /v1/embeddings (data URI) -> dev backend", await time(N, () => postApi([{ type: "image_url", image_url: { url: dataUri } }]))]);

console.log(`\n## proxy overhead (tiny bundle, ${N} sequential requests each, load average ${loadavg()[0]?.toFixed(1)})\n`);
console.log("| path | p50 ms | p90 ms | mean ms |\n|---|---:|---:|---:|");
for (const [name, ms] of rows) {
  const s = stats(ms);
  console.log(`| ${name} | ${s.p50.toFixed(2)} | ${s.p90.toFixed(2)} | ${s.mean.toFixed(2)} |`);
}
const p50 = (i: number) => stats(rows[i]?.[1] ?? [0]).p50;
console.log(`\nproxy overhead at p50: text +${(p50(2) - p50(0)).toFixed(2)} ms, image +${(p50(5) - p50(3)).toFixed(2)} ms over the direct call`);

// Wire bytes: request + response bodies of one infer call per text / per image.
const real = [
  ["tiny (this bench)", 48, 96],
  ["B/16 @224", 224, 768],
  ["L/16 @256", 256, 1024],
  ["So400m/14 @384", 384, 1152],
  ["g-opt/16 @384", 384, 1536],
] as const;
const bigPhoto = photo("skimage/astronaut.png");
console.log("\n## bytes on the wire per call of one input (request + response bodies)\n");
console.log("| model | text binary | text JSON | image binary (FP32 pixels) | image binary (UINT8 pixels) | image JSON |\n|---|---:|---:|---:|---:|---:|");
const sample = (await remote.embedImages([png]))[0] as Float32Array; // real output values for the JSON response size
for (const [name, S, D] of real) {
  const out = new Float32Array(D).map((_, i) => sample[i % sample.length] as number);
  const resp = (binary: boolean) => encodeInferResponse({ model_name: "m-text", model_version: "1" }, { pooler_output: tensor("float32", [1, D], out) }, () => binary).body.byteLength;
  const sized = await preprocessFixResRgb(bigPhoto, { size: S, resample: "bicubic" });
  const pix = (await preprocessFixRes(bigPhoto, { size: S, resample: "bicubic" })).data;
  const req = (feeds: Parameters<typeof encodeInferRequest>[0], binary: boolean) => encodeInferRequest(feeds, { binary, outputs: ["pooler_output"] }).body.byteLength;
  const text = { input_ids: tensor("int64", [1, 64], ids) };
  const image = { pixel_values: tensor("float32", [1, 3, S, S], pix) };
  const imageU8 = { pixels: tensor("uint8", [1, 3, S, S], fixresSamples(sized)) };
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`| ${name} | ${kb(req(text, true) + resp(true))} | ${kb(req(text, false) + resp(false))} | ${kb(req(image, true) + resp(true))} | ${kb(req(imageU8, true) + resp(true))} | ${kb(req(image, false) + resp(false))} |`);
}
console.log(`\nmeasured on the tiny bundle: ${remote.towers.wire.calls} calls, ${remote.towers.wire.bytesSent} B sent, ${remote.towers.wire.bytesReceived} B received`);

await new Promise<void>((r) => api.server.close(() => r()));
api.server.closeAllConnections();
await backend.close();
