/** `siglip serve` on real HTTP (127.0.0.1): the same app, onnxruntime-node, the tiny bundle. */
import { Readable, Writable } from "node:stream";
import { cosine } from "@siglip-edge/core";
import { describe, expect, it } from "vitest";
import { startServe } from "../src/commands/serve.ts";
import { dataUri, photo, tinyBundle } from "@siglip-edge/edge-api/testing";

function io(env: Record<string, string> = {}) {
  let out = "";
  let err = "";
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  return { io: { stdin: Readable.from([]), stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env, cwd: process.cwd() }, out: () => out, err: () => err };
}

describe("siglip serve", () => {
  it("serves the API over HTTP with onnxruntime-node, and the WASM engine gives the same vectors", async () => {
    const dir = await tinyBundle();
    const a = io();
    const node = await startServe(["--model", dir, "--port", "0"], a.io);
    const w = io();
    const web = await startServe(["--model", dir, "--port", "0", "--engine", "web"], w.io);
    try {
      expect(a.out()).toContain("listening on http://127.0.0.1:");
      expect(a.err()).toContain("random-weight fixture");
      const models = (await (await fetch(`${node.url}/v1/models`)).json()) as { data: { id: string; runs_on: string }[] };
      expect(models.data[0]?.runs_on).toContain("onnxruntime-node");
      const body = JSON.stringify({ model: models.data[0]?.id, input: ["a cat", { type: "image_url", image_url: dataUri(photo("skimage/coins.png")) }].map((x) => (typeof x === "string" ? { type: "text", text: x } : x)) });
      const post = (url: string) => fetch(`${url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const r1 = await post(node.url);
      expect(r1.status).toBe(200);
      expect(r1.headers.get("x-request-id")).toMatch(/^req_/);
      const v1 = ((await r1.json()) as { data: { embedding: number[] }[] }).data;
      const v2 = ((await (await post(web.url)).json()) as { data: { embedding: number[] }[] }).data;
      v1.forEach((d, i) => {
        const c = cosine(d.embedding, v2[i]?.embedding ?? []);
        console.log(`serve: onnxruntime-node vs onnxruntime-web input ${i}: cosine ${c.toFixed(8)}`);
        expect(c).toBeGreaterThanOrEqual(0.99999);
      });
      const bad = await fetch(`${node.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    } finally {
      await node.close();
      await web.close();
    }
  });

  it("without a model: a usage error naming what to pass", async () => {
    await expect(startServe([], io().io)).rejects.toThrow(/--model is required/);
  });
});
