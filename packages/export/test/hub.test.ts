/** Hub download against the local imitation (127.0.0.1 only): resume after a dropped connection, hashes, shards. */
import { readdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasErrorCode } from "@siglip-edge/core";
import { sha256File } from "../src/bundle.ts";
import { generateCheckpoint } from "../src/generate.ts";
import { pullCheckpoint } from "../src/hub.ts";
import { startHub } from "./hub-server.ts";

const root = await mkdtemp(join(tmpdir(), "siglip-hub-test-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("hub download", () => {
  it("downloads a sharded checkpoint through LFS redirects, resumes a dropped connection with Range, verifies sha256 and git blob ids", async () => {
    const repo = join(root, "repo-sharded");
    await generateCheckpoint(repo, "tiny-naflex", { seed: 5, shards: 2 });
    const shard = "model-00001-of-00002.safetensors";
    const hub = await startHub("acme/tiny-sharded", repo, { drop: { file: shard, afterBytes: 50_000, times: 2 }, token: "s3cret", lfsRedirect: true });
    try {
      const env = { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "s3cret", SIGLIP_CACHE: join(root, "cache") };
      const progress: number[] = [];
      const res = await pullCheckpoint("acme/tiny-sharded", { env, onProgress: (p) => p.file === shard && progress.push(p.done) });
      expect(res.commit).toBe(hub.commit);
      expect(res.files.sort()).toEqual(["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
      for (const f of res.files) expect(await sha256File(join(res.dir, f))).toBe(await sha256File(join(repo, f)));
      const ranges = hub.requests.filter((r) => r.path === `/cdn/${shard}`).map((r) => r.range); // after the 302 to the "CDN"
      expect(hub.requests.filter((r) => r.path.endsWith(`/resolve/${hub.commit}/${shard}`)).length).toBe(3);
      console.log(`[export hub] ${shard}: requests with Range ${JSON.stringify(ranges)} after 2 dropped connections`);
      expect(ranges).toEqual([undefined, "bytes=50000-", "bytes=100000-"]);
      expect(hub.requests.every((r) => r.auth === "Bearer s3cret")).toBe(true);
      expect(Math.max(...progress)).toBeGreaterThan(100_000);
      expect((await readdir(res.dir)).some((f) => f.endsWith(".incomplete"))).toBe(false);
      // A second pull finds everything verified in the cache and downloads nothing.
      const before = hub.requests.length;
      await pullCheckpoint("acme/tiny-sharded", { env });
      expect(hub.requests.length - before).toBe(1); // the revision lookup only
    } finally {
      await hub.close();
    }
  });

  it("rejects a corrupted file (same size, wrong sha256) and deletes it; reports a missing token", async () => {
    const repo = join(root, "repo-corrupt");
    await generateCheckpoint(repo, "tiny-fixres", { seed: 5 });
    const hub = await startHub("acme/tiny-corrupt", repo, { corrupt: "model.safetensors", token: "t" });
    try {
      const env = { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "t", SIGLIP_CACHE: join(root, "cache") };
      const err = await pullCheckpoint("acme/tiny-corrupt", { env }).catch((e: unknown) => e);
      expect(hasErrorCode(err, "INTEGRITY_MISMATCH")).toBe(true);
      expect((err as Error).message).toContain("model.safetensors");
      const dir = join(root, "cache", "hub", "acme--tiny-corrupt", hub.commit);
      expect((await readdir(dir)).filter((f) => f.startsWith("model.safetensors"))).toEqual([]);
      const noToken = await pullCheckpoint("acme/tiny-corrupt", { env: { ...env, HF_TOKEN: undefined } }).catch((e: unknown) => e);
      expect(hasErrorCode(noToken, "DOWNLOAD_FAILED")).toBe(true);
    } finally {
      await hub.close();
    }
  });
});
