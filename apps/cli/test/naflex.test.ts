/**
 * NaFlex through the CLI and every Node path it opens: `siglip embed` (and `--type`), `siglip classify`, `siglip audit
 * run` (bundle, KServe and API providers), `siglip serve` locally and routed to a KServe v2 backend. Image embeddings
 * equal Hugging Face's Siglip2ImageProcessor + Siglip2Model (fixtures/goldens/naflex, tools/reference/naflex_goldens.py)
 * for 4 aspect ratios at two `--max-num-patches`; bad budgets and types are one-line errors with exit code 2.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevBackend, type DevBackend } from "@siglip-edge/backend";
import { cosine, dequantizeEmbedding, embeddingFromBase64, EMBEDDING_TYPES, sigmoid, type EmbeddingType } from "@siglip-edge/core";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleProvider, openKServeProvider } from "../src/commands/audit.ts";
import { startServe } from "../src/commands/serve.ts";
import { captureIo, Closers, runCli } from "./in-process.ts";

const GOLDENS = join(import.meta.dirname, "..", "..", "..", "fixtures", "goldens", "naflex");
const G = JSON.parse(readFileSync(join(GOLDENS, "goldens.json"), "utf8")) as { seed: number; budgets: number[]; cases: { image: string; maxNumPatches: number; imageEmbeds: number[] }[] };
const names = [...new Set(G.cases.map((c) => c.image))];
const paths = names.map((n) => join(GOLDENS, "images", n));
const golden = (image: string, N: number) => G.cases.find((c) => c.image === image && c.maxNumPatches === N)?.imageEmbeds as number[];
/** Tiny NaFlex towers with the real 256k Gemma vocabulary, so texts tokenize as for a released checkpoint (classify, audit). */
const NAFLEX_256K = {
  model_type: "siglip2",
  text_config: { vocab_size: 256000, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2 },
  vision_config: { num_patches: 256, patch_size: 4, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2 },
};

let root = "";
let gdir = ""; // the goldens' weights (tiny-naflex, 1000-row table: images only)
let ndir = ""; // NaFlex with the 256k table
let fdir = ""; // a FixRes bundle
let backend: DevBackend;
const closers = new Closers();

const io = (env: Record<string, string | undefined> = {}) => captureIo(root, env, root);
const siglip = (args: string[]) => runCli(root, args, root);

const lines = (s: string) => s.trimEnd().split("\n").map((l) => JSON.parse(l) as { input: string; embedding: number[] | string; scale?: number; label?: string; score?: number; logit?: number });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "siglip-cli-naflex-"));
  const build = async (name: string, preset: unknown, seed: number) => {
    await generateCheckpoint(join(root, `ck-${name}`), preset, { seed });
    await convertCheckpoint(join(root, `ck-${name}`), join(root, name), { checkpointId: `test/${name}` });
    return join(root, name);
  };
  [gdir, ndir, fdir] = await Promise.all([build("tiny-naflex", "tiny-naflex", G.seed), build("naflex-256k", NAFLEX_256K, 3), build("tiny-fixres", "tiny-fixres", 1)]);
  const sgtk = (await loadTokenizer(devTokenizerJsonPath())).toBinary(); // what a deployment puts next to a bundle without one
  for (const d of [ndir, gdir]) writeFileSync(join(d, "tokenizer.sgtk"), sgtk);
  backend = await startDevBackend({ bundles: [{ dir: gdir }, { dir: ndir }] });
  closers.push(() => backend.close());
}, 180_000);

afterAll(async () => {
  await closers.closeAll();
  await rm(root, { recursive: true, force: true });
});

describe("siglip embed on a NaFlex bundle", () => {
  it("4 aspect ratios at the default 256 and --max-num-patches 1024 equal Siglip2Model (cosine >= 0.99999)", async () => {
    for (const N of G.budgets) {
      const r = await siglip(["embed", "--model", gdir, ...paths.flatMap((p) => ["--image", p]), ...(N === 256 ? [] : ["--max-num-patches", String(N)])]);
      expect(r.code, r.err).toBe(0);
      lines(r.out).forEach((l, i) => {
        const c = cosine(l.embedding as number[], golden(names[i] as string, N));
        console.log(`[siglip embed naflex] ${names[i]} N=${N}: cosine ${c.toFixed(8)}`);
        expect(c).toBeGreaterThanOrEqual(0.99999);
      });
    }
  });

  it("--type: every embedding type (JSON and --encoding base64) decodes to the float embedding by the API's rule", async () => {
    const args = ["embed", "--model", gdir, ...paths.flatMap((p) => ["--image", p]), "--max-num-patches", "576"];
    const float = lines((await siglip(args)).out).map((l) => l.embedding as number[]);
    for (const type of EMBEDDING_TYPES) {
      const j = lines((await siglip([...args, "--type", type])).out);
      const b = lines((await siglip([...args, "--type", type, "--encoding", "base64"])).out);
      j.forEach((l, i) => {
        const v = float[i] as number[];
        const q = embeddingFromBase64(b[i]?.embedding as string, type as EmbeddingType, b[i]?.scale);
        expect(Array.from(q.values), type).toEqual(l.embedding);
        const d = dequantizeEmbedding(q, v.length);
        if (type === "float") expect(Array.from(d)).toEqual(v);
        if (type === "int8" || type === "uint8") {
          expect(l.scale).toBe(Math.fround(Math.max(...v.map(Math.abs)) / 127));
          d.forEach((x, k) => expect(Math.abs(x - (v[k] as number))).toBeLessThanOrEqual((l.scale as number) / 2 + 1e-9));
        }
        if (type === "binary" || type === "ubinary") d.forEach((x, k) => expect(x).toBe((v[k] as number) > 0 ? 1 : -1));
      });
    }
  });

  it("bad budgets and types: one line on stderr, exit code 2", async () => {
    for (const [args, why] of [
      [["embed", "--model", gdir, "--image", paths[0] as string, "--max-num-patches", "300"], /max_num_patches must be one of 256, 576, 784, 1024/],
      [["embed", "--model", fdir, "--image", paths[0] as string, "--max-num-patches", "256"], /FixRes model/],
      [["embed", "--model", gdir, "--image", paths[0] as string, "--max-num-patches", "many"], /positive integer/],
      [["embed", "--model", gdir, "--image", paths[0] as string, "--type", "fp16"], /--type must be one of float\|int8\|uint8\|binary\|ubinary/],
      [["classify", "--model", fdir, "--image", paths[0] as string, "--labels", "a", "--max-num-patches", "576"], /FixRes model/],
    ] as const) {
      const r = await siglip([...args]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(why);
    }
  });
});

describe("siglip classify and audit run on a NaFlex bundle", () => {
  it("classify --max-num-patches: logits are cos(embed image, embed text) under the checkpoint's scale and bias", async () => {
    const labels = ["a wide picture", "a tall picture", "coins"];
    const img = lines((await siglip(["embed", "--model", ndir, "--image", paths[2] as string, "--max-num-patches", "576"])).out)[0]?.embedding as number[];
    const txt = lines((await siglip(["embed", "--model", ndir, ...labels.flatMap((t) => ["--text", t])])).out).map((l) => l.embedding as number[]);
    const r = await siglip(["classify", "--model", ndir, "--image", paths[2] as string, "--labels", labels.join(","), "--template", "{}", "--max-num-patches", "576"]);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(readFileSync(join(ndir, "manifest.json"), "utf8")) as { logitScale: number; logitBias: number };
    const rows = lines(r.out);
    expect(rows).toHaveLength(3);
    for (const s of rows) {
      const want = cosine(img, txt[labels.indexOf(s.label as string)] as number[]) * Math.exp(m.logitScale) + m.logitBias;
      expect(s.logit).toBeCloseTo(want, 6);
      expect(s.score).toBeCloseTo(sigmoid(want), 6);
    }
    // A different budget, a different image vector: the flag reaches the model.
    const at256 = lines((await siglip(["classify", "--model", ndir, "--image", paths[2] as string, "--labels", labels.join(","), "--template", "{}"])).out);
    expect(at256.find((s) => s.label === labels[0])?.logit).not.toBeCloseTo(rows.find((s) => s.label === labels[0])?.logit as number, 6);
  });

  it("audit run --model --max-num-patches writes a report; the bundle and KServe providers give the reference's vectors", async () => {
    const r = await siglip(["audit", "run", "--model", ndir, "--max-num-patches", "576", "--out", "out-naflex", "--languages", "en", "--prompts", "gender", "--resamples", "50"]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(root, "out-naflex", "report.json"))).toBe(true);
    const bad = await siglip(["audit", "run", "--model", fdir, "--max-num-patches", "576", "--out", "out-bad", "--languages", "en", "--prompts", "gender"]);
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/FixRes model/)]);
    const inputs = paths.map((p) => ({ key: p, path: p, bytes: new Uint8Array(readFileSync(p)) }));
    for (const N of G.budgets) {
      const bundle = await BundleProvider.open(gdir, io().io, { maxNumPatches: N });
      const kserve = await openKServeProvider(backend.url, gdir, undefined, io().io, { maxNumPatches: N });
      expect(bundle.revision).toMatch(new RegExp(`\\+patches-${N}$`)); // other budgets never share cached vectors
      for (const [name, p] of [["bundle", bundle], ["kserve", kserve]] as const) {
        const flat = await p.embedImages(inputs);
        names.forEach((n, i) => expect(cosine(flat.subarray(i * 64, (i + 1) * 64), golden(n, N)), `${name} ${n} N=${N}`).toBeGreaterThanOrEqual(0.99999));
      }
    }
  }, 120_000);
});

describe("siglip serve with a NaFlex bundle, locally and routed to a KServe v2 backend", () => {
  it("POST /v1/embeddings with max_num_patches equals Siglip2Model on both paths", async () => {
    const routes = { backends: { gpu: { url: backend.url, deadlineMs: 20000 } }, models: [{ id: "naflex@gpu", backend: "gpu", name: "tiny-naflex", bundle: gdir, foldTokenIds: true }] };
    const served = await startServe(["--model", gdir, "--port", "0"], io({ MODEL_BACKENDS: JSON.stringify(routes) }).io);
    closers.push(served.close);
    const models = (await (await fetch(`${served.url}/v1/models`)).json()) as { data: { id: string; family: string; runs_on: string; max_num_patches: unknown }[] };
    expect(models.data.map((m) => [m.family, m.max_num_patches])).toEqual([["naflex", { default: 256, allowed: [256, 576, 784, 1024], patch_size: 4 }], ["naflex", { default: 256, allowed: [256, 576, 784, 1024], patch_size: 4 }]]);
    const input = paths.map((p) => ({ type: "image_url", image_url: `data:image/png;base64,${readFileSync(p).toString("base64")}` }));
    for (const model of [models.data[0]?.id as string, "naflex@gpu"]) {
      for (const N of G.budgets) {
        const r = await fetch(`${served.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input, max_num_patches: N }) });
        const body = await r.text();
        expect(r.status, body).toBe(200);
        const data = (JSON.parse(body) as { data: { embedding: number[] }[] }).data;
        const cos = data.map((d, i) => cosine(d.embedding, golden(names[i] as string, N)));
        console.log(`[siglip serve naflex] ${model} N=${N}: cosines ${cos.map((c) => c.toFixed(8)).join(" ")}`);
        for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.99999);
        expect(r.headers.get("x-siglip-backend")).toBe(model === "naflex@gpu" ? "backend:gpu" : "edge");
      }
    }
    // siglip audit run --api --max-num-patches: the audit's API provider sends the budget with its image requests.
    const { EdgeApiProvider } = await import("@siglip-edge/audit/node");
    const api = await EdgeApiProvider.connect(served.url, { model: "naflex@gpu", maxNumPatches: 1024 });
    expect(api.revision).toMatch(/\+patches-1024$/);
    const flat = await api.embedImages(paths.map((p) => ({ key: p, path: p, bytes: new Uint8Array(readFileSync(p)) })));
    names.forEach((n, i) => expect(cosine(flat.subarray(i * 64, (i + 1) * 64), golden(n, 1024))).toBeGreaterThanOrEqual(0.99999));
  }, 120_000);
});
