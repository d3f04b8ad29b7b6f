/**
 * One bundle, every Node path that opens it, one answer: `siglip embed`, `siglip classify`, `siglip audit run --model`
 * (its bundle provider), `siglip serve` (local, and a model routed to a KServe v2 backend with float32 and uint8
 * pixels) and the audit's `--kserve` provider all open the bundle through the runtime's `openModel`. The paths that
 * run the same graphs on onnxruntime-node give bit-identical vectors; the KServe paths (the dev backend runs the text
 * graph with the table inside) agree to cosine 1.0 at six decimals. The Worker and its tower Workers are checked
 * against these vectors in apps/edge-api's workerd tests.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDevBackend, type DevBackend } from "@siglip-edge/backend";
import { cosine, l2Normalize, sigmoid } from "@siglip-edge/core";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleProvider, openKServeProvider } from "../src/commands/audit.ts";
import { startServe } from "../src/commands/serve.ts";
import { captureIo, Closers, runCli } from "./in-process.ts";

const PHOTOS = fileURLToPath(new URL("../../../fixtures/photos/", import.meta.url));
const IMAGES = ["skimage/coins.png", "matplotlib/grace_hopper.jpg"].map((p) => join(PHOTOS, p));
const TEXTS = ["a photo of a cat", "ein Foto einer Katze", "硬币"];
/** Tiny towers with the real 256k Gemma vocabulary, so texts tokenize exactly as for a released checkpoint. */
const TINY_256K = {
  model_type: "siglip",
  text_config: { vocab_size: 256000, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, projection_size: 48 },
  vision_config: { image_size: 32, patch_size: 8, hidden_size: 48, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2 },
};
const ID = "test/one-factory";

let root = "";
let dir = "";
let backend: DevBackend;
const closers = new Closers();

const io = (env: Record<string, string | undefined> = {}) => captureIo(root, env);

async function siglip(args: string[]): Promise<string> {
  const r = await runCli(root, args);
  expect(r.code, r.err).toBe(0);
  return r.out;
}

const lines = (s: string) => s.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "siglip-one-factory-"));
  await generateCheckpoint(join(root, "ck"), TINY_256K, { seed: 5 });
  dir = join(root, "one-factory");
  await convertCheckpoint(join(root, "ck"), dir, { checkpointId: ID });
  // The compact tokenizer (from the Gemma development vocabulary) a deployment puts next to a bundle without one:
  // what the KServe routes read; the CLI compiles the same vocabulary from its JSON.
  writeFileSync(join(dir, "tokenizer.sgtk"), (await loadTokenizer(devTokenizerJsonPath())).toBinary());
  backend = await startDevBackend({ bundles: [{ dir }] });
  closers.push(() => backend.close());
}, 120_000);

afterAll(async () => {
  await closers.closeAll();
  await rm(root, { recursive: true, force: true });
});

describe("one factory", () => {
  it("embed, classify, audit, serve and the KServe paths give the same vectors for one bundle", async () => {
    // siglip embed --raw: the reference of this test.
    const text = lines(await siglip(["embed", "--model", dir, "--raw", ...TEXTS.flatMap((t) => ["--text", t])])).map((l) => l["embedding"] as number[]);
    const image = lines(await siglip(["embed", "--model", dir, "--raw", ...IMAGES.flatMap((p) => ["--image", p])])).map((l) => l["embedding"] as number[]);
    const paths: Record<string, { text: number[][]; image: number[][] }> = {};

    // siglip audit run --model: the audit's bundle provider.
    const audit = await BundleProvider.open(dir, io().io);
    const rows = (flat: Float32Array, n: number) => Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * audit.dim, (i + 1) * audit.dim)));
    paths["audit --model"] = { text: rows(await audit.embedTexts(TEXTS), TEXTS.length), image: rows(await audit.embedImages(IMAGES.map((p) => ({ key: p, path: p, bytes: new Uint8Array(readFileSync(p)) }))), IMAGES.length) };

    // siglip audit run --kserve: the same bundle's towers on the dev backend.
    const kserve = await openKServeProvider(backend.url, dir, undefined, io().io);
    paths["audit --kserve"] = { text: rows(await kserve.embedTexts(TEXTS), TEXTS.length), image: rows(await kserve.embedImages(IMAGES.map((p) => ({ key: p, path: p, bytes: new Uint8Array(readFileSync(p)) }))), IMAGES.length) };

    // siglip serve: the bundle locally, and routed to the dev backend with float32 and uint8 pixels.
    const routes = {
      backends: { gpu: { url: backend.url, deadlineMs: 20000 }, gpu8: { url: backend.url, deadlineMs: 20000, pixels: "uint8" } },
      models: [
        { id: `${ID}@gpu`, backend: "gpu", name: "one-factory", bundle: dir },
        { id: `${ID}@gpu8`, backend: "gpu8", name: "one-factory", bundle: dir },
      ],
    };
    const serveIo = io({ MODEL_BACKENDS: JSON.stringify(routes) });
    const served = await startServe(["--model", dir, "--port", "0"], serveIo.io);
    closers.push(served.close);
    const post = async (model: string, input: unknown[]) => {
      const r = await fetch(`${served.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input, normalize: false }) });
      const body = await r.text();
      expect(r.status, `${model}: ${body}`).toBe(200);
      return (JSON.parse(body) as { data: { embedding: number[] }[] }).data.map((d) => d.embedding);
    };
    const uris = IMAGES.map((p) => ({ type: "image_url", image_url: `data:image/${p.endsWith(".png") ? "png" : "jpeg"};base64,${readFileSync(p).toString("base64")}` }));
    for (const [name, model] of [["serve", ID], ["serve -> KServe", `${ID}@gpu`], ["serve -> KServe (uint8 pixels)", `${ID}@gpu8`]] as const) {
      paths[name] = { text: await post(model, TEXTS), image: await post(model, uris) };
    }

    for (const [name, p] of Object.entries(paths)) {
      const cos = [...p.text.map((v, i) => cosine(v, text[i] as number[])), ...p.image.map((v, i) => cosine(v, image[i] as number[]))];
      console.log(`[one factory] ${name} vs siglip embed: cosines ${cos.map((c) => c.toFixed(9)).join(" ")}`);
      for (const c of cos) expect(Math.abs(1 - c), name).toBeLessThan(1e-6);
      // The same graphs on the same engine: the same bits.
      if (!name.includes("KServe") && !name.includes("kserve")) expect(p, name).toEqual({ text, image });
    }
    // uint8 pixels apply the same pixel table in the backend's graph: the same image vectors as float32 pixels.
    expect(paths["serve -> KServe (uint8 pixels)"]?.image).toEqual(paths["serve -> KServe"]?.image);

    // siglip classify: its logits are the embed vectors' cosines under the checkpoint's scale and bias.
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { logitScale: number; logitBias: number };
    const scores = lines(await siglip(["classify", "--model", dir, "--image", IMAGES[0] as string, "--labels", TEXTS.join(","), "--template", "{}"]));
    for (const s of scores) {
      const i = TEXTS.indexOf(s["label"] as string);
      const want = cosine(l2Normalize(image[0] as number[]), l2Normalize(text[i] as number[])) * Math.exp(manifest.logitScale) + manifest.logitBias;
      expect(s["logit"] as number).toBeCloseTo(want, 6);
      expect(s["score"] as number).toBeCloseTo(sigmoid(want), 6);
    }
  }, 120_000);
});
