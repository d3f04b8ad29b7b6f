/**
 * Test fixtures built at test time (nothing large is committed), exported as `@siglip-edge/edge-api/testing`: the tiny
 * random-weight FixRes bundle and the photos of `@siglip-edge/export/testing`, the tiny NaFlex bundle of the NaFlex
 * goldens (seeded checkpoint -> `convertCheckpoint`, plus `tokenizer.sgtk` compiled from the real Gemma vocabulary),
 * and tower Workers on 127.0.0.1.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import { convertCheckpoint, generateCheckpoint } from "@siglip-edge/export";
import { tinyBundle as tinyFixRes } from "@siglip-edge/export/testing";
import { lazyProvider, type SiglipPipeline } from "@siglip-edge/runtime";
import { serveFetch } from "../../src/node/server.ts";
import { TowerServer, type Fetcher } from "../../src/tower-protocol.ts";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";

export { photo, PHOTOS, TINY_ID } from "@siglip-edge/export/testing";

/** Builds the tiny FixRes bundle with two stages per tower as well (the staged B/16 layout) once per test process. */
export const tinyBundle = (): Promise<string> => tinyFixRes(2);

export function dataUri(bytes: Uint8Array, mime = "image/png"): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString("base64")}`;
}

export const TINY_NAFLEX_ID = "siglip-edge/tiny-naflex";
/** End-to-end NaFlex goldens from HF Siglip2ImageProcessor + Siglip2Model (tools/reference/naflex_goldens.py). */
export const NAFLEX_GOLDENS = join(import.meta.dirname, "..", "..", "..", "..", "fixtures", "goldens", "naflex");

export interface NaFlexCase {
  image: string;
  maxNumPatches: number;
  spatialShape: [number, number];
  imageEmbeds: number[];
}

export function naflexGoldens(): { seed: number; budgets: number[]; cases: NaFlexCase[]; image: (name: string) => Uint8Array } {
  const g = JSON.parse(readFileSync(join(NAFLEX_GOLDENS, "goldens.json"), "utf8")) as { seed: number; budgets: number[]; cases: NaFlexCase[] };
  return { ...g, image: (name) => new Uint8Array(readFileSync(join(NAFLEX_GOLDENS, "images", name))) };
}

let builtNaflex: Promise<string> | undefined;

/** The tiny NaFlex bundle of the goldens' weights (two stages per tower as well), with `tokenizer.sgtk`; once per process. */
export function tinyNaflexBundle(): Promise<string> {
  builtNaflex ??= (async () => {
    const root = await mkdtemp(join(tmpdir(), "siglip-edge-api-naflex-"));
    await generateCheckpoint(join(root, "ck"), "tiny-naflex", { seed: naflexGoldens().seed });
    const dir = join(root, "tiny-naflex");
    await convertCheckpoint(join(root, "ck"), dir, { checkpointId: TINY_NAFLEX_ID, stages: 2 });
    writeFileSync(join(dir, "tokenizer.sgtk"), (await loadTokenizer(devTokenizerJsonPath())).toBinary());
    return dir;
  })();
  return builtNaflex;
}

/**
 * A tower Worker on 127.0.0.1: the protocol's server (`TowerServer`) over a provider of one model, behind
 * `serveFetch`; `calls` records `path:x-siglip-dims` and `grids` the `x-siglip-grid` of each request (or "-").
 * @param servers where the HTTP server goes, for the test to close
 */
export async function httpTower(id: string, open: () => Promise<SiglipPipeline>, stage: number | undefined, servers: Server[]): Promise<{ fetcher: Fetcher; calls: string[]; grids: string[] }> {
  const provider = lazyProvider([{ id, open }]);
  const server = new TowerServer();
  const { server: http, url } = await serveFetch((req) => server.handle(req, { model: (m) => provider.get(m), stage }), 0);
  servers.push(http);
  const calls: string[] = [];
  const grids: string[] = [];
  const fetcher: Fetcher = {
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      calls.push(`${path}:${req.headers.get("x-siglip-dims")}`);
      grids.push(req.headers.get("x-siglip-grid") ?? "-");
      return fetch(`${url}${path}`, { method: req.method, headers: req.headers, body: await req.arrayBuffer() });
    },
  };
  return { fetcher, calls, grids };
}
