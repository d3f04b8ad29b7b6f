/**
 * The tower protocol on Node over real HTTP on 127.0.0.1, as the memory benchmark drives local workerd: tower
 * servers (`TowerServer`, whole towers or two stages each) behind `serveFetch`, the API side's `workerTowers` client
 * opened with `openModel`, which tokenizes and decodes here and sends ids and S x S pixels. Same vectors as the
 * bundle run locally; tower errors come back with their codes.
 */
import type { Server } from "node:http";
import { cosine, SiglipError } from "@siglip-edge/core";
import { engineTowers, openModel, type ModelPipeline } from "@siglip-edge/runtime";
import { createNodeEngine, fsBundleSource, initNodeDecoders } from "@siglip-edge/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerTowers, type Fetcher } from "../../src/tower-protocol.ts";
import { httpTower, photo, TINY_ID, tinyBundle } from "./fixtures.ts";

let dir = "";
let local: ModelPipeline;
const servers: Server[] = [];

/** A tower Worker on 127.0.0.1: the protocol's server over the bundle's towers (whole, or stage `stage`). */
const tower = (stage?: number) =>
  httpTower(TINY_ID, () => openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine(), stage === undefined ? {} : { stage }), id: TINY_ID, foldTokenIds: true }), stage, servers);

const texts = Array.from({ length: 17 }, (_, i) => `text number ${i}`);
const images = ["skimage/coins.png", "matplotlib/grace_hopper.jpg", "skimage/chelsea.png", "skimage/coins.png", "skimage/astronaut.png"].map(photo);

beforeAll(async () => {
  dir = await tinyBundle();
  local = await openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine()), id: TINY_ID, foldTokenIds: true, initDecoders: initNodeDecoders });
});
afterAll(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

const api = (text: Fetcher[], vision: Fetcher[]) => openModel({ source: fsBundleSource(dir), towers: workerTowers({ text, vision }), id: TINY_ID, foldTokenIds: true, initDecoders: initNodeDecoders });

describe("tower protocol", () => {
  it("whole towers: the API side's vectors are the local run's, bit for bit, 16 texts and 4 images per call", async () => {
    const [t, v] = await Promise.all([tower(), tower()]);
    const m = await api([t.fetcher], [v.fetcher]);
    const a = await m.embedTexts(texts);
    const b = await local.embedTexts(texts);
    expect(a).toEqual(b); // tokens counted by the API side, the same as locally
    expect(await m.embedImages(images)).toEqual(await local.embedImages(images));
    expect(t.calls).toEqual(["/internal/embed-text:16,64", "/internal/embed-text:1,64"]);
    expect(v.calls).toEqual(["/internal/embed-pixels:4,48,48,3", "/internal/embed-pixels:1,48,48,3"]);
  });

  it("two stages per tower: hidden states forwarded from stage 0 to stage 1 give the unsplit vectors", async () => {
    const [t0, t1, v0, v1] = await Promise.all([tower(0), tower(1), tower(0), tower(1)]);
    const m = await api([t0.fetcher, t1.fetcher], [v0.fetcher, v1.fetcher]);
    const a = [...(await m.embedTexts(texts.slice(0, 3))).embeddings, ...(await m.embedImages(images.slice(0, 2)))];
    const b = [...(await local.embedTexts(texts.slice(0, 3))).embeddings, ...(await local.embedImages(images.slice(0, 2)))];
    const cos = a.map((v, i) => cosine(v, b[i] as Float32Array));
    console.log(`[tower protocol] staged vs local: cosines ${cos.map((c) => c.toFixed(9)).join(" ")}`);
    for (const c of cos) expect(Math.abs(1 - c)).toBeLessThan(1e-6);
    expect(t1.calls).toEqual(["/internal/stage:3,64,64"]);
    expect(v1.calls).toEqual(["/internal/stage:2,36,96"]);
  });

  it("errors come back with their codes; an incomplete chain says so", async () => {
    const [t0, v] = await Promise.all([tower(0), tower()]);
    const broken = await api([t0.fetcher], [v.fetcher]);
    await expect(broken.embedTexts(["x"])).rejects.toMatchObject({ code: "BACKEND_BAD_RESPONSE", message: expect.stringMatching(/no Worker is bound for stage 1/) });
    const unknown = await openModel({ source: fsBundleSource(dir), towers: workerTowers({ text: [v.fetcher], vision: [v.fetcher] }), id: "nope", foldTokenIds: true });
    const e = await unknown.embedTexts(["x"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SiglipError);
    expect(e).toMatchObject({ code: "UNKNOWN_CHECKPOINT" });
    // The same API's vision tower is whole and bound: it still answers.
    await expect(broken.embedImages([photo("skimage/coins.png")])).resolves.toHaveLength(1);
  });
});
