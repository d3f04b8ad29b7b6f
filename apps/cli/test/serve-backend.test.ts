/**
 * `siglip serve` with MODEL_BACKENDS: a model routed to the KServe v2 dev backend over real HTTP on 127.0.0.1 answers
 * like the same bundle served locally, and says which path served it.
 */
import { PassThrough } from "node:stream";
import { startDevBackend } from "@siglip-edge/backend";
import { cosine } from "@siglip-edge/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_ID, tinyBundle } from "@siglip-edge/edge-api/testing";
import { startServe } from "../src/commands/serve.ts";

const GPU = "siglip-edge/tiny-fixres@gpu";

describe("siglip serve routes MODEL_BACKENDS models to a KServe v2 backend", () => {
  const closers: (() => Promise<void>)[] = [];
  let url = "";

  beforeAll(async () => {
    const dir = await tinyBundle();
    const backend = await startDevBackend({ bundles: [{ dir }] });
    closers.push(() => backend.close());
    const env = {
      ...process.env,
      MODEL_BACKENDS: JSON.stringify({
        backends: { gpu: { url: backend.url, deadlineMs: 20000 } },
        models: [{ id: GPU, backend: "gpu", name: "tiny-fixres", bundle: dir, foldTokenIds: true }],
      }),
    };
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env, cwd: process.cwd() };
    const served = await startServe(["--model", dir, "--port", "0"], io);
    closers.push(served.close);
    url = served.url;
  }, 120_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it("gives the local bundle's embeddings through the backend, with x-siglip-backend", async () => {
    const embed = (model: string) =>
      fetch(`${url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input: ["a photo of a cat"] }) });
    const [viaBackend, local] = await Promise.all([embed(GPU), embed(TINY_ID)]);
    expect(viaBackend.status).toBe(200);
    expect(local.status).toBe(200);
    expect(viaBackend.headers.get("x-siglip-backend")).toBe("backend:gpu");
    expect(local.headers.get("x-siglip-backend")).toBe("edge");
    const a = (await viaBackend.json()) as { data: { embedding: number[] }[] };
    const b = (await local.json()) as typeof a;
    const c = cosine(a.data[0]?.embedding ?? [], b.data[0]?.embedding ?? []);
    console.log(`siglip serve: backend vs local cosine ${c.toFixed(8)}`);
    expect(c).toBeGreaterThanOrEqual(0.99999);
  }, 60_000);
});
