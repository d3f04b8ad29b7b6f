import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32 } from "./seeded.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "@siglip-edge/core";
import { httpBundleSource, TokenRowReader, verifiedRead, type BundleSource } from "../src/index.ts";
import { fsBundleSource } from "../src/node/index.ts";

const ROWS = 300;
const DIM = 6;
const dir = mkdtempSync(join(tmpdir(), "siglip-rows-"));
const table = new Float32Array(ROWS * DIM);
const rnd = mulberry32(7);
for (let i = 0; i < table.length; i++) table[i] = rnd() * 2 - 1;
writeFileSync(join(dir, "tokens.f32"), new Uint8Array(table.buffer));

/** Serves `dir` on 127.0.0.1 with byte ranges, counting requests. */
let server: Server;
let baseUrl = "";
let requests = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    const path = join(dir, (req.url ?? "/").slice(1));
    if (!existsSync(path)) return void res.writeHead(404).end();
    const file = readFileSync(path);
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      res.writeHead(206, { "content-range": `bytes ${a}-${b}/${file.length}` }).end(file.subarray(a, b + 1));
    } else res.writeHead(200).end(file);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  baseUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function expectRow(got: Float32Array | undefined, id: number): void {
  expect(Array.from(got ?? [])).toEqual(Array.from(table.subarray(id * DIM, (id + 1) * DIM)));
}

describe("TokenRowReader", () => {
  for (const [name, make] of [
    ["filesystem", () => fsBundleSource(dir)],
    ["HTTP ranges on 127.0.0.1", () => httpBundleSource(baseUrl)],
  ] as [string, () => BundleSource][]) {
    it(`reads exact rows, deduplicated and coalesced (${name})`, async () => {
      const reader = new TokenRowReader(make(), { path: "tokens.f32", rows: ROWS, dim: DIM, dtype: "float32" });
      const ids = Int32Array.from([5, 1, 0, 5, 6, 7, 250, 0, 0, 1]); // 6 distinct ids in 3 runs: {0,1,5,6,7}, {250}
      const embeds = await reader.embed(ids, 2, 5);
      ids.forEach((id, k) => expect(Array.from(embeds.subarray(k * DIM, (k + 1) * DIM))).toEqual(Array.from(table.subarray(id * DIM, (id + 1) * DIM))));
      expect(reader.stats).toEqual({ reads: 2, hits: 0, fetched: 6 });
      const again = await reader.rows([0, 1, 299]);
      expectRow(again.get(299), 299);
      expect(reader.stats).toEqual({ reads: 3, hits: 2, fetched: 7 });
      await expect(reader.rows([ROWS])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });
  }

  it("concurrent requests for the same rows share one read", async () => {
    const before = requests;
    const reader = new TokenRowReader(httpBundleSource(baseUrl), { path: "tokens.f32", rows: ROWS, dim: DIM, dtype: "float32" });
    const [a, b] = await Promise.all([reader.rows([100, 101]), reader.rows([101, 100])]);
    expectRow(a.get(100), 100);
    expectRow(b.get(101), 101);
    expect(requests - before).toBe(1);
  });
});

describe("verifiedRead", () => {
  it("accepts the right digest and refuses a wrong size or hash", async () => {
    const src = fsBundleSource(dir);
    const bytes = new Uint8Array(table.buffer);
    const sha = await sha256Hex(bytes);
    expect((await verifiedRead(src, "tokens.f32", { size: bytes.byteLength, sha256: sha })).byteLength).toBe(bytes.byteLength);
    await expect(verifiedRead(src, "tokens.f32", { size: 1 })).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH" });
    await expect(verifiedRead(src, "tokens.f32", { size: bytes.byteLength, sha256: "0".repeat(64) })).rejects.toMatchObject({
      code: "INTEGRITY_MISMATCH",
    });
    await expect(src.read("missing.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(httpBundleSource(baseUrl).read("missing.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
