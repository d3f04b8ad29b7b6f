import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeNpy, tensor } from "@siglip-edge/core";
import { summarizeRanks } from "@siglip-edge/metrics";
import { densify, plantedRanks, plantRetrieval } from "@siglip-edge/metrics/testing";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/siglip.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "siglip-audit-cli-"));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));

function siglip(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

function npy(name: string, rows: number[][]): string {
  const path = join(dir, name);
  writeFileSync(path, encodeNpy(tensor("float32", [rows.length, rows[0]?.length ?? 0], Float32Array.from(rows.flat()))));
  return path;
}

describe("siglip audit bias / retrieval (bring your own embeddings)", () => {
  it("bias: representation bias between two groups, worked out by hand", () => {
    // male = e1, female = e2; images [2,1] [1,3] [3,1] [5,1]: 3 of 4 closer to male -> rate 0.75, RB 0.25
    npy("img.npy", [[2, 1], [1, 3], [3, 1], [5, 1]]);
    npy("male.npy", [[1, 0], [2, 0]]);
    npy("female.npy", [[0, 1]]);
    const r = siglip(["audit", "bias", "--images", "img.npy", "--groups", "male=male.npy,female=female.npy", "--seed", "1", "--resamples", "200"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { pairs: { first: string; second: string; rate: number; rb: number }[]; groups: { name: string; nearestShare: number }[] };
    expect(out.pairs[0]).toMatchObject({ first: "male", second: "female", rate: 0.75, rb: 0.25 });
    expect(out.groups.map((g) => g.nearestShare)).toEqual([0.75, 0.25]);
    const again = siglip(["audit", "bias", "--images", "img.npy", "--groups", "male=male.npy,female=female.npy", "--seed", "1", "--resamples", "200"]);
    expect(again.stdout).toBe(r.stdout); // seeded bootstrap: identical output
    console.log("siglip audit bias:", JSON.stringify(out.pairs[0]));
  }, 60_000);

  it("retrieval: recall both ways from .npy files and a pairs list", () => {
    // image 0 = e1, image 1 = e2; texts 0 and 2 describe image 0, text 1 image 1; text 2 is closer to image 1 -> T→I rank 2
    npy("i.npy", [[1, 0], [0, 1]]);
    npy("t.npy", [[1, 0.1], [0.1, 1], [0.4, 1]]);
    writeFileSync(join(dir, "pairs.json"), JSON.stringify([0, 1, 0]));
    const r = siglip(["audit", "retrieval", "--images", "i.npy", "--texts", "t.npy", "--pairs", "pairs.json", "--resamples", "100"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { textToImage: { recall: Record<string, number>; meanRank: number }; imageToText: { recall: Record<string, number> } };
    // T→I ranks [1, 1, 2] -> R@1 2/3, mean rank 4/3; I→T: image 0's best caption (t0, 0.995) ranks first; image 1 t1 first
    expect(out.textToImage.recall["1"]).toBeCloseTo(2 / 3, 12);
    expect(out.textToImage.meanRank).toBeCloseTo(4 / 3, 12);
    expect(out.imageToText.recall["1"]).toBe(1);
    const first = JSON.parse(siglip(["audit", "retrieval", "--images", "i.npy", "--texts", "t.npy", "--pairs", "pairs.json", "--caption-policy", "first"]).stdout) as { textToImage: { queries: number; recall: Record<string, number> } };
    expect(first.textToImage).toMatchObject({ queries: 2, recall: { "1": 1 } });
  }, 60_000);

  it("retrieval on a planted set: the exact planted recall, MRR, mean and median rank in every tie and caption policy", () => {
    // 600 images x 2 captions, D = 96: ranks fixed by construction (metrics/testing/planted.ts), ties included;
    // several tiles per side, so references and comparisons come from different kernel calls.
    const plant = plantRetrieval({ images: 600, captionsPerImage: 2, dim: 96, seed: 17, top1: 0.45, hubs: 10, tieShare: 0.25 });
    writeFileSync(join(dir, "planted-i.npy"), encodeNpy(tensor("float32", [600, 96], densify(plant.images))));
    writeFileSync(join(dir, "planted-t.npy"), encodeNpy(tensor("float32", [1200, 96], densify(plant.texts))));
    writeFileSync(join(dir, "planted-pairs.json"), JSON.stringify({ owner: Array.from(plant.owner) }));
    for (const policy of ["all", "first"] as const) {
      for (const ties of ["optimistic", "pessimistic"] as const) {
        const r = siglip(["audit", "retrieval", "--images", "planted-i.npy", "--texts", "planted-t.npy", "--pairs", "planted-pairs.json", "--caption-policy", policy, "--ties", ties, "--resamples", "200"]);
        expect(r.stderr).toBe("");
        const out = JSON.parse(r.stdout) as Record<"textToImage" | "imageToText", Record<string, unknown>> & { kernel: string };
        const want = plantedRanks(plant, policy, ties);
        const strip = ({ recallCi: _r, mrrCi: _m, ...rest }: Record<string, unknown>) => rest;
        expect(strip(out.textToImage)).toEqual(summarizeRanks(want.textToImageRanks, 600));
        expect(strip(out.imageToText)).toEqual(summarizeRanks(want.imageToTextRanks, want.texts.length));
        expect(out.kernel).toMatch(/onnxruntime-node .*MLAS/);
        if (policy === "all" && ties === "optimistic") console.log("siglip audit retrieval, planted 600 x 1200:", JSON.stringify({ t2i: out.textToImage["recall"], i2t: out.imageToText["recall"] }));
      }
    }
  }, 120_000);

  it("bad input: one line on stderr and exit code 2", () => {
    writeFileSync(join(dir, "junk.npy"), "not numpy");
    const cases = [
      ["audit", "bias", "--groups", "a=male.npy,b=female.npy"],
      ["audit", "bias", "--images", "junk.npy", "--groups", "a=male.npy,b=female.npy"],
      ["audit", "bias", "--images", "img.npy", "--groups", "onlyone=male.npy"],
      ["audit", "bias", "--images", "img.npy", "--groups", "a=male.npy,b=missing.npy"],
      ["audit", "retrieval", "--images", "i.npy", "--texts", "t.npy", "--pairs", "pairs-missing.json"],
      ["audit", "frobnicate"],
      ["audit", "run", "--out", "x"],
      ["audit", "run", "--out", "x", "--model", "no-such-bundle-dir"],
      ["audit", "run", "--out", "x", "--model", "b", "--provider", "stand-in"],
    ];
    writeFileSync(join(dir, "bad-pairs.json"), JSON.stringify([0, 5, 0]));
    cases.push(["audit", "retrieval", "--images", "i.npy", "--texts", "t.npy", "--pairs", "bad-pairs.json"]);
    for (const args of cases) {
      const r = siglip(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  }, 60_000);
});

describe("siglip audit run / report / compare", () => {
  it("runs on the embedded default with the stand-in provider, then renders and compares reports", () => {
    const run = siglip(["audit", "run", "--provider", "stand-in", "--out", "out", "--languages", "en,fr,hi", "--prompts", "gender", "--resamples", "100"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/STAND-IN/);
    expect(run.stderr).toMatch(/ETA/);
    const report = JSON.parse(readFileSync(join(dir, "out/report.json"), "utf8")) as { model: { standIn: boolean; revision: string }; dataset: { languages: string[] }; settings: { captionPolicy: string; seed: number; promptSets: { id: string }[] } };
    expect(report.model).toMatchObject({ standIn: true, revision: "stand-in-v1" });
    expect(report.dataset.languages).toEqual(["en", "fr", "hi"]);
    expect(report.settings).toMatchObject({ captionPolicy: "all", seed: 0, promptSets: [{ id: "gender" }] });
    const rep = siglip(["audit", "report", "out/report.json", "--out", "dash"]);
    expect(rep.code, rep.stderr).toBe(0);
    expect(readFileSync(join(dir, "dash/index.html"), "utf8")).toMatch(/<svg id="t2i-chart"/);
    // thumbnails: written beside the report by run, copied beside the dashboard by report (43 photos)
    const gallery = (JSON.parse(readFileSync(join(dir, "out/report.json"), "utf8")) as { gallery: { images: { thumbnail: string }[] } }).gallery.images;
    expect(gallery).toHaveLength(43);
    for (const g of gallery) expect(existsSync(join(dir, "dash", g.thumbnail)) && existsSync(join(dir, "out", g.thumbnail))).toBe(true);
    const cmp = siglip(["audit", "compare", "out/report.json", "out/report.json", "--out", "cmp"]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(existsSync(join(dir, "cmp/index.html"))).toBe(true);
    const c = JSON.parse(readFileSync(join(dir, "cmp/comparison.json"), "utf8")) as { acrossLanguages: { textToImage: { p: number } } };
    expect(c.acrossLanguages.textToImage.p).toBe(1);
    // labelled faces (FairFace format); the stand-in provider only hashes the bytes
    mkdirSync(join(dir, "ff"), { recursive: true });
    ["f1.jpg", "f2.jpg", "m1.jpg", "m2.jpg"].forEach((f, i) => writeFileSync(join(dir, "ff", f), `face ${i}`));
    writeFileSync(join(dir, "ff/labels.csv"), "file,age,gender,race,service_test\nf1.jpg,20-29,Female,Indian,True\nf2.jpg,30-39,Female,White,True\nm1.jpg,20-29,Male,Indian,True\nm2.jpg,3-9,Male,Black,True\n");
    const ff = siglip(["audit", "run", "--provider", "stand-in", "--out", "out-ff", "--languages", "en", "--prompts", "gender,occupation", "--resamples", "50", "--fairface", "ff"]);
    expect(ff.code, ff.stderr).toBe(0);
    const withFaces = JSON.parse(readFileSync(join(dir, "out-ff/report.json"), "utf8")) as { demographics: { images: number; association: unknown[]; skew: unknown[] } };
    expect(withFaces.demographics.images).toBe(4);
    expect(withFaces.demographics.association).toHaveLength(5);
    expect(withFaces.demographics.skew).toHaveLength(3);
    // the denigration test on the synthetic stand-in laid out as FairFace (fairface_label_val.csv + val/), no thumbnails
    const dn = siglip(["audit", "run", "--provider", "stand-in", "--out", "out-dn", "--languages", "en,de", "--prompts", "denigration", "--resamples", "50", "--thumbnails", "0", "--fairface", join(REPO, "fixtures/fairface-standin")]);
    expect(dn.code, dn.stderr).toBe(0);
    const dr = JSON.parse(readFileSync(join(dir, "out-dn/report.json"), "utf8")) as { gallery: { thumbnails: unknown }; demographics: { images: number; denigration: { language: string; variant: string }[] } };
    expect(dr.gallery.thumbnails).toBeNull();
    expect(existsSync(join(dir, "out-dn/thumbs"))).toBe(false);
    expect(dr.demographics.images).toBe(42);
    expect(dr.demographics.denigration.map((r) => `${r.language} ${r.variant}`)).toEqual(["en paper", "en with-child"]);
    writeFileSync(join(dir, "not-a-report.json"), "{}");
    const bad = siglip(["audit", "report", "not-a-report.json", "--out", "dash2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not an audit report/);
  }, 60_000);
});

describe("siglip audit run --model (local bundle through onnxruntime-node)", () => {
  it("audits the default dataset with a tiny seeded bundle; a rerun is served from the cache", async () => {
    const { generateCheckpoint } = await import("@siglip-edge/export");
    const { EmbeddingCache } = await import("@siglip-edge/audit/node");
    const ck = join(dir, "tiny-ck");
    await generateCheckpoint(ck, {
      model_type: "siglip",
      text_config: { vocab_size: 256000, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, projection_size: 48 },
      vision_config: { image_size: 32, patch_size: 8, hidden_size: 48, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2 },
    }, { seed: 3 });
    const conv = siglip(["convert", ck, "--out", "tiny-bundle", "--id", "test/tiny-256k"]);
    expect(conv.code, conv.stderr).toBe(0);
    const args = ["audit", "run", "--model", "tiny-bundle", "--out", "out-model", "--languages", "en,sw", "--prompts", "gender", "--resamples", "100"];
    const r = siglip(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/STAND-IN/);
    const report = JSON.parse(readFileSync(join(dir, "out-model/report.json"), "utf8")) as { model: { id: string; revision: string; provider: string; standIn: boolean; dim: number }; retrieval: { languages: { textToImage: { queries: number } }[] } };
    expect(report.model).toMatchObject({ id: "test/tiny-256k", provider: "bundle", standIn: false, dim: 48 });
    expect(report.model.revision).toMatch(/^local\+bundle-[0-9a-f]{16}$/);
    expect(report.retrieval.languages.map((l) => l.textToImage.queries)).toEqual([86, 86]);
    const cache = new EmbeddingCache(join(dir, "out-model/embeddings.sqlite"));
    const first = cache.stats();
    cache.close();
    const again = siglip(args);
    expect(again.code, again.stderr).toBe(0);
    const cache2 = new EmbeddingCache(join(dir, "out-model/embeddings.sqlite"));
    const second = cache2.stats();
    cache2.close();
    expect(second).toEqual(first); // nothing recomputed: no new vectors, no new ledger rows
    expect(readFileSync(join(dir, "out-model/report.json"), "utf8")).toBe(JSON.stringify(report, null, 1) + "\n");
    console.log("audit run --model tiny bundle:", JSON.stringify({ model: report.model, cache: first }));

    // the same bundle behind the real API server over HTTP on 127.0.0.1: same model, same numbers
    const { startServe } = await import("../src/commands/serve.ts");
    const { PassThrough } = await import("node:stream");
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: dir };
    const server = await startServe(["--model", join(dir, "tiny-bundle"), "--port", "0", "--host", "127.0.0.1"], io);
    try {
      const api = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, [BIN, "audit", "run", "--api", server.url, "--out", "out-api", "--languages", "en,sw", "--prompts", "gender", "--resamples", "100"], { cwd: dir, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => done({ code, stderr }));
      });
      expect(api.code, api.stderr).toBe(0);
      type R = { model: { id: string; provider: string }; retrieval: { languages: { textToImage: { recall: Record<string, number>; mrr: number } }[] }; bias: { cells: { rate: number }[] } };
      const viaApi = JSON.parse(readFileSync(join(dir, "out-api/report.json"), "utf8")) as R;
      const local = report as unknown as R;
      expect(viaApi.model).toMatchObject({ id: "test/tiny-256k", provider: "edge-api" });
      viaApi.retrieval.languages.forEach((l, i) => {
        expect(l.textToImage.mrr).toBeCloseTo(local.retrieval.languages[i]?.textToImage.mrr ?? NaN, 4);
      });
      expect(viaApi.bias.cells.map((c) => c.rate)).toEqual(local.bias.cells.map((c) => c.rate));
    } finally {
      await server.close();
    }

    // the towers on the KServe v2 dev backend, manifest and tokenizer from the bundle: same numbers again
    const { startDevBackend } = await import("@siglip-edge/backend");
    const backend = await startDevBackend({ bundles: [{ dir: join(dir, "tiny-bundle") }] }, { host: "127.0.0.1", port: 0 });
    try {
      const ks = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, [BIN, "audit", "run", "--kserve", backend.url, "--model", "tiny-bundle", "--out", "out-kserve", "--languages", "en,sw", "--prompts", "gender", "--resamples", "100"], { cwd: dir, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => done({ code, stderr }));
      });
      expect(ks.code, ks.stderr).toBe(0);
      type R = { model: { provider: string }; retrieval: { languages: { textToImage: { mrr: number } }[] }; bias: { cells: { rate: number }[] } };
      const viaKserve = JSON.parse(readFileSync(join(dir, "out-kserve/report.json"), "utf8")) as R;
      const local = report as unknown as R;
      expect(viaKserve.model.provider).toBe("kserve");
      viaKserve.retrieval.languages.forEach((l, i) => expect(l.textToImage.mrr).toBeCloseTo(local.retrieval.languages[i]?.textToImage.mrr ?? NaN, 4));
      expect(viaKserve.bias.cells.map((c) => c.rate)).toEqual(local.bias.cells.map((c) => c.rate));
      expect(backend.counts.infer).toBeGreaterThan(0);
      console.log("audit run --kserve:", backend.counts);
    } finally {
      await backend.close();
    }
  }, 180_000);
});
