/**
 * One offline model name for every command: `--model tiny` (and `tiny-naflex`) in a fresh cache is generated once
 * (random weights, the real Gemma 256k vocabulary and tokenizer) and accepted by pull, embed, classify, audit run,
 * serve, backend and triton-repo, in child processes of the real CLI (serve and backend in-process, over HTTP).
 * Text embeddings equal the bundle run in-process on the real tokenizer's ids, unfolded (ids above 1000 exist).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { cosine, l2Norm } from "@siglip-edge/core";
import { TINY_REVISION } from "@siglip-edge/export";
import { engineTowers, openModel } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource } from "@siglip-edge/runtime/node";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { afterAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/siglip.js", import.meta.url));
const PHOTO = fileURLToPath(new URL("../../../fixtures/photos/matplotlib/grace_hopper.jpg", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "siglip-cli-tiny-"));
const env = { ...process.env, SIGLIP_CACHE: join(root, "cache"), NODE_NO_WARNINGS: "1" };
afterAll(() => rmSync(root, { recursive: true, force: true }));

function siglip(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, env });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

function io() {
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env, cwd: root };
}

const MULTILINGUAL = ["hi", "una foto de un gato", "猫の写真", "picha ya paka"];

describe("--model tiny in every command, offline", () => {
  let dir = "";

  it("pull tiny generates it once into the cache: 256000 token rows, the real tokenizer, random-weight revision", () => {
    const r = siglip(["pull", "tiny"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/generating the offline model "tiny"/);
    dir = r.stdout.trim();
    expect(dir.startsWith(join(root, "cache"))).toBe(true);
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { checkpoint: { id: string; revision: string }; tokenTable: { rows: number }; text: { tokenizer: string } };
    expect(m.checkpoint).toEqual({ id: "tiny", revision: TINY_REVISION });
    expect(m.tokenTable.rows).toBe(256000);
    expect(m.text.tokenizer).toBe("tokenizer.json");
    const again = siglip(["pull", "tiny"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe(""); // already in the cache
    expect(again.stdout.trim()).toBe(dir);
    // nothing left behind but the bundle (the seeded checkpoint was temporary)
    expect(readdirSync(join(dir, ".."))).toEqual(["fp32"]);
  }, 120_000);

  it("embed --model tiny: the real tokenizer's ids, unfolded, equal to the bundle run in-process", async () => {
    const r = siglip(["embed", "--model", "tiny", ...MULTILINGUAL.flatMap((t) => ["--text", t])]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { input: string; embedding: number[] });
    expect(lines.map((l) => l.input)).toEqual(MULTILINGUAL);
    const tok = await loadTokenizer(devTokenizerJsonPath());
    const ids = MULTILINGUAL.map((t) => Array.from(tok.encode(t)));
    expect(Math.max(...ids.flat())).toBeGreaterThan(1000); // a 1000-row fixture table would have to fold these
    // the text graph with the table inside, opened by the runtime without the CLI
    const m = await openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine(), { textGraph: "text" }), runsOn: "test" });
    const direct = await m.embedTokenIds(ids.map((r) => Int32Array.from(r)));
    lines.forEach((l, i) => {
      expect(l2Norm(l.embedding)).toBeCloseTo(1, 5);
      expect(cosine(l.embedding, direct.embeddings[i] ?? [])).toBeGreaterThanOrEqual(0.99999);
    });
  }, 60_000);

  it("classify --model tiny and embed --model tiny-naflex --image", () => {
    const c = siglip(["classify", "--model", "tiny", "--image", PHOTO, "--labels", "a,b"]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { label: string }).label).sort()).toEqual(["a", "b"]);
    const n = siglip(["embed", "--model", "tiny-naflex", "--image", PHOTO]);
    expect(n.code, n.stderr).toBe(0);
    expect(n.stderr).toMatch(/generating the offline model "tiny-naflex"/);
    expect(l2Norm((JSON.parse(n.stdout) as { embedding: number[] }).embedding)).toBeCloseTo(1, 5);
  }, 120_000);

  it("audit run --model tiny writes the report and the dashboard", () => {
    const r = siglip(["audit", "run", "--model", "tiny", "--out", "audit", "--languages", "en,sw,ja", "--prompts", "gender", "--resamples", "100"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(root, "audit", "report.json"), "utf8")) as { model: { id: string; revision: string; standIn: boolean } };
    expect(report.model).toMatchObject({ id: "tiny", standIn: false });
    expect(report.model.revision.startsWith(`${TINY_REVISION}+bundle-`)).toBe(true);
    expect(readFileSync(join(root, "audit", "index.html"), "utf8")).toContain("<svg");
  }, 120_000);

  it("triton-repo tiny and backend --model tiny name the models tiny-*", async () => {
    const t = siglip(["triton-repo", "tiny", "--out", "repo"]);
    expect(t.code, t.stderr).toBe(0);
    const written = readdirSync(join(root, "repo")).filter((f) => f !== "README.md");
    expect(written).toEqual(expect.arrayContaining(["tiny-text", "tiny-vision"]));
    expect(written.every((f) => f.startsWith("tiny-"))).toBe(true);
    const { startBackend } = await import("../src/commands/backend.ts");
    const b = await startBackend(["--model", "tiny", "--port", "0"], io());
    try {
      const index = (await (await fetch(`${b.url}/v2/repository/index`, { method: "POST", body: "{}" })).json()) as { name: string }[];
      expect(index.map((m) => m.name)).toEqual(expect.arrayContaining(["tiny-text", "tiny-vision"]));
      expect(index.every((m) => m.name.startsWith("tiny-"))).toBe(true);
    } finally {
      await b.close();
    }
  }, 60_000);

  it("serve --model tiny answers as model \"tiny\", without folding token ids", async () => {
    const { startServe } = await import("../src/commands/serve.ts");
    const stderr = new PassThrough();
    let said = "";
    stderr.on("data", (d: Buffer) => (said += d.toString()));
    const s = await startServe(["--model", "tiny", "--port", "0"], { ...io(), stderr });
    try {
      const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string; revision: string }[] };
      expect(models.data.map((m) => [m.id, m.revision])).toEqual([["tiny", TINY_REVISION]]);
      const res = await fetch(`${s.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny", input: MULTILINGUAL }) });
      expect(res.status).toBe(200);
      const viaApi = ((await res.json()) as { data: { embedding: number[] }[] }).data.map((d) => d.embedding);
      const cli = siglip(["embed", "--model", "tiny", ...MULTILINGUAL.flatMap((t) => ["--text", t])]).stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { embedding: number[] }).embedding);
      viaApi.forEach((v, i) => expect(cosine(v, cli[i] ?? [])).toBeGreaterThanOrEqual(0.99999));
      expect(said).not.toMatch(/folded/);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("names the offline model where a model is missing or the hub cannot be reached", () => {
    const r = siglip(["embed", "--model", "acme/not-pulled", "--text", "hi"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/siglip pull acme\/not-pulled .*--model tiny/);
    expect(existsSync(join(root, "cache", "bundles"))).toBe(false);
    // pull with the hub unreachable (nothing listens on port 9 here)
    const offline = spawnSync(process.execPath, [BIN, "pull", "acme/not-pulled"], { cwd: root, env: { ...env, HF_ENDPOINT: "http://127.0.0.1:9" } });
    const err = offline.stderr.toString("utf8");
    expect(offline.status).toBe(2);
    expect(err.trimEnd().split("\n")).toHaveLength(1);
    expect(err).toMatch(/DOWNLOAD_FAILED: cannot reach .*--model tiny/);
  });
});
