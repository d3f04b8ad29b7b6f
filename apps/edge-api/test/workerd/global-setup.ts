/**
 * Runs in Node before the workerd tests: builds the tiny bundle and serves it, the photos, and the redirect routes on
 * 127.0.0.1. The Worker tests copy the bundle into their local R2 bucket from here and use the same server as the
 * allow-listed image host.
 */
import { readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import type { ProvidedContext } from "vitest";
import type { TestProject } from "vitest/node";
import { naflexGoldens, PHOTOS, tinyBundle, tinyNaflexBundle, type NaFlexCase } from "../node/fixtures.ts";

declare module "vitest" {
  export interface ProvidedContext {
    fixtureOrigin: string;
    bundleFiles: string[];
    /** The tiny NaFlex bundle's files (served under /bundle-naflex/) and the HF goldens with the images as data URIs. */
    naflexBundleFiles: string[];
    naflex: { cases: NaFlexCase[]; budgets: number[]; uris: Record<string, string> };
    /** Node references on the same bundle: `siglip embed --image` for coins.png and a JPEG, onnxruntime-node for texts. */
    reference: { texts: string[]; textEmbeddings: number[][]; imageEmbedding: number[]; jpegEmbedding: number[] };
  }
}

export const REFERENCE_TEXTS = ["a photo of a cat", "ein Foto einer Katze"];

async function nodeReference(dir: string): Promise<ProvidedContext["reference"]> {
  const { main } = await import("@siglip-edge/cli");
  const { Writable, Readable } = await import("node:stream");
  let out = "";
  let err = "";
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const code = await main(["embed", "--model", dir, "--image", join(PHOTOS, "skimage/coins.png"), "--image", join(PHOTOS, "matplotlib/grace_hopper.jpg")], {
    stdin: Readable.from([]),
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: process.env,
    cwd: process.cwd(),
  });
  if (code !== 0) throw new Error(`siglip embed failed: ${err}`);
  const [imageEmbedding, jpegEmbedding] = out.trim().split("\n").map((l) => (JSON.parse(l) as { embedding: number[] }).embedding) as [number[], number[]];
  const { engineTowers, openModel } = await import("@siglip-edge/runtime");
  const { createNodeEngine, fsBundleSource } = await import("@siglip-edge/runtime/node");
  const m = await openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine()), foldTokenIds: true });
  const textEmbeddings = (await m.embedTexts(REFERENCE_TEXTS)).embeddings.map((v) => Array.from(v));
  return { texts: REFERENCE_TEXTS, textEmbeddings, imageEmbedding, jpegEmbedding };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await tinyBundle();
  const naflexDir = await tinyNaflexBundle();
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname === "/redirect") return void res.writeHead(302, { location: u.searchParams.get("to") ?? "/photos/skimage/coins.png" }).end();
    const [, kind, ...rest] = u.pathname.split("/");
    const root = kind === "bundle" ? dir : kind === "bundle-naflex" ? naflexDir : kind === "photos" ? PHOTOS : undefined;
    const path = root === undefined ? undefined : join(root, ...rest);
    if (path === undefined || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(path));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  const origin = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { files: { path: string }[] };
  project.provide("fixtureOrigin", origin);
  project.provide("reference", await nodeReference(dir));
  project.provide("bundleFiles", ["manifest.json", "tokenizer.sgtk", ...manifest.files.map((f) => f.path)]);
  const nm = JSON.parse(readFileSync(join(naflexDir, "manifest.json"), "utf8")) as { files: { path: string }[] };
  project.provide("naflexBundleFiles", ["manifest.json", "tokenizer.sgtk", ...nm.files.map((f) => f.path)]);
  const g = naflexGoldens();
  const uris = Object.fromEntries([...new Set(g.cases.map((c) => c.image))].map((n) => [n, `data:image/png;base64,${Buffer.from(g.image(n)).toString("base64")}`]));
  project.provide("naflex", { cases: g.cases, budgets: g.budgets, uris });
  return () => new Promise<void>((r) => server.close(() => r()));
}
