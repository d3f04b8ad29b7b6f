/**
 * `siglip pull` against the local hub imitation (127.0.0.1 only): a dropped connection mid-file is resumed, the
 * checkpoint converted into the cache and usable by `siglip embed --model ID`; a corrupted file is rejected.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { l2Norm } from "@siglip-edge/core";
import { generateCheckpoint } from "@siglip-edge/export";
import { startHub } from "@siglip-edge/export/testing";

const BIN = fileURLToPath(new URL("../bin/siglip.js", import.meta.url));
const IMAGE = fileURLToPath(new URL("../../../fixtures/images/rgb.png", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "siglip-cli-pull-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Async child process: the hub imitation runs in this process, so the event loop must stay free. */
function siglip(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("siglip pull", () => {
  it("downloads through a dropped connection, converts, and embed finds the model by id", async () => {
    const repo = join(root, "repo");
    await generateCheckpoint(repo, "tiny-naflex", { seed: 11 });
    const hub = await startHub("acme/tiny-naflex", repo, { drop: { file: "model.safetensors", afterBytes: 200_000, times: 1 }, token: "tok" });
    try {
      const env = { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "tok", SIGLIP_CACHE: join(root, "cache") };
      const r = await siglip(["pull", "acme/tiny-naflex"], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/\[#+\] 100% .* model\.safetensors/); // progress bar
      const ranges = hub.requests.filter((q) => q.path.endsWith("model.safetensors")).map((q) => q.range);
      expect(ranges).toEqual([undefined, "bytes=200000-"]);
      const e = await siglip(["embed", "--model", "acme/tiny-naflex", "--image", IMAGE], env);
      expect(e.code, e.stderr).toBe(0);
      const line = JSON.parse(e.stdout) as { input: string; embedding: number[] };
      expect(line.embedding.length).toBe(64);
      expect(l2Norm(line.embedding)).toBeCloseTo(1, 5);
      console.log(`[cli pull] pulled acme/tiny-naflex from ${hub.endpoint} (resumed at byte 200000), converted, embedded ${IMAGE.split("/").pop()}`);
    } finally {
      await hub.close();
    }
  }, 120_000);

  it("rejects a corrupted download with one line and exit code 2", async () => {
    const repo = join(root, "repo2");
    await generateCheckpoint(repo, "tiny-fixres", { seed: 12 });
    const hub = await startHub("acme/tiny-bad", repo, { corrupt: "model.safetensors" });
    try {
      const r = await siglip(["pull", "acme/tiny-bad"], { HF_ENDPOINT: hub.endpoint, SIGLIP_CACHE: join(root, "cache") });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/INTEGRITY_MISMATCH: model\.safetensors: sha256/);
      expect(r.stderr.trimEnd().split("\n").filter((l) => l.includes("error")).length).toBe(1); // one error line, after the progress line
    } finally {
      await hub.close();
    }
  }, 60_000);
});
