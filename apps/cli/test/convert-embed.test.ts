/**
 * `siglip convert`, `embed`, `classify` end to end in child processes: a seeded random checkpoint with the real
 * 256k Gemma vocabulary (tiny towers), the development tokenizer, PNG fixtures through @siglip-edge/preprocess.
 * Outputs are checked against the bundle run in-process (the text graph with the table inside, no CLI), and the
 * sigmoid scores against the checkpoint's scale and bias.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cosine, l2Norm, l2Normalize, maxAbsDiff, sigmoid } from "@siglip-edge/core";
import { generateCheckpoint } from "@siglip-edge/export";
import { engineTowers, openModel } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";

const BIN = fileURLToPath(new URL("../bin/siglip.js", import.meta.url));
const IMAGES = fileURLToPath(new URL("../../../fixtures/images/", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "siglip-cli-export-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function siglip(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, SIGLIP_CACHE: join(root, "cache") } });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

const TINY_256K = {
  model_type: "siglip",
  text_config: { vocab_size: 256000, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, projection_size: 48 },
  vision_config: { image_size: 32, patch_size: 8, hidden_size: 48, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2 },
};

interface Line {
  input: string;
  embedding: number[];
}

describe("siglip convert / embed / classify", () => {
  const ck = join(root, "ckpt");
  const bundle = join(root, "bundle");

  it("converts, then embeds texts and images as normalised JSON lines equal to the in-process bundle", async () => {
    await generateCheckpoint(ck, TINY_256K, { seed: 3 });
    const conv = siglip(["convert", ck, "--out", bundle, "--id", "test/tiny-256k"]);
    expect(conv.code, conv.stderr).toBe(0);
    expect(conv.stderr).toContain("fixres fp32 bundle");
    const tjs = siglip(["convert", ck, "--out", join(root, "tjs"), "--layout", "transformers.js", "--dtype", "int8"]);
    expect(tjs.code, tjs.stderr).toBe(0);
    expect(readdirSync(join(root, "tjs", "onnx")).sort()).toEqual(["text_model_int8.onnx", "text_model_int8.onnx_data", "vision_model_int8.onnx", "vision_model_int8.onnx_data"]);

    const texts = ["a photo of a cat", "A DOG", ""];
    const r = siglip(["embed", "--model", bundle, ...texts.flatMap((t) => ["--text", t])]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => l.input)).toEqual(texts);
    const m = await openModel({ source: fsBundleSource(bundle), towers: engineTowers(createNodeEngine(), { textGraph: "text" }), initDecoders: initNodeDecoders });
    try {
      const tok = await loadTokenizer(devTokenizerJsonPath());
      const direct = (await m.runTokenIds(texts.map((t) => tok.encode(t)))).embeddings;
      lines.forEach((l, i) => {
        expect(l.embedding.length).toBe(48);
        expect(l2Norm(l.embedding)).toBeCloseTo(1, 5);
        expect(maxAbsDiff(l.embedding, l2Normalize(direct.data.subarray(i * 48, (i + 1) * 48)))).toBeLessThan(1e-6);
      });
      const raw = JSON.parse(siglip(["embed", "--model", bundle, "--raw", "--text", texts[0] as string]).stdout) as Line;
      expect(maxAbsDiff(raw.embedding, direct.data.subarray(0, 48))).toBeLessThan(1e-5);

      const imgs = ["rgb.png", "orientation-6.png"].map((f) => join(IMAGES, f));
      const ri = siglip(["embed", "--model", bundle, ...imgs.flatMap((p) => ["--image", p])]);
      expect(ri.code, ri.stderr).toBe(0);
      const il = ri.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Line);
      expect(il.length).toBe(2);
      for (let i = 0; i < 2; i++) {
        const [d] = await m.embedImages([new Uint8Array(readFileSync(imgs[i] as string))]);
        expect(maxAbsDiff((il[i] as Line).embedding, l2Normalize(d as Float32Array))).toBeLessThan(1e-6);
      }
      expect(cosine((il[0] as Line).embedding, (il[1] as Line).embedding)).toBeLessThan(0.9999); // different images differ

      const labels = ["cat", "dog", "car", "tree"];
      const rc = siglip(["classify", "--model", bundle, "--image", imgs[0] as string, "--labels", labels.join(","), "--template", "a {} here"]);
      expect(rc.code, rc.stderr).toBe(0);
      const scores = rc.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { label: string; score: number; logit: number });
      expect(scores.map((s) => s.label).sort()).toEqual([...labels].sort());
      const te = (await m.runTokenIds(labels.map((l) => tok.encode(`a ${l} here`)))).embeddings;
      for (const s of scores) {
        const i = labels.indexOf(s.label);
        const want = cosine((il[0] as Line).embedding, te.data.subarray(i * 48, (i + 1) * 48)) * Math.exp(m.logit.logitScale) + m.logit.logitBias;
        expect(s.logit).toBeCloseTo(want, 5);
        expect(s.score).toBeCloseTo(sigmoid(want), 6);
      }
      for (let i = 1; i < scores.length; i++) expect((scores[i - 1] as { score: number }).score).toBeGreaterThanOrEqual((scores[i] as { score: number }).score);
      console.log(`[cli export] convert + embed (3 texts, 2 images) + classify (${labels.length} labels) agree with the in-process bundle`);
    } finally {
      await m.close();
    }
  }, 120_000);

  it("fails with one line and exit code 2 on usage errors, unknown models and a corrupted bundle", () => {
    const noOut = siglip(["convert", ck]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr.trimEnd().split("\n").length).toBe(1);
    const unknown = siglip(["embed", "--model", "nobody/nothing", "--text", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("siglip pull nobody/nothing");
    const data = join(bundle, "text_split.onnx.data");
    const bytes = readFileSync(data);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(data, bytes);
    const bad = siglip(["embed", "--model", bundle, "--text", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/INTEGRITY_MISMATCH: .*text_split\.onnx\.data/);
    expect(bad.stderr.trimEnd().split("\n").length).toBe(1);
  }, 60_000);
});
