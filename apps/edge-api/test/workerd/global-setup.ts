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
    /** Node references on the same bundle (onnxruntime-node through `openModel`): coins.png and a JPEG, and the texts. */
    reference: { texts: string[]; textEmbeddings: number[][]; imageEmbedding: number[]; jpegEmbedding: number[] };
  }
}

export const REFERENCE_TEXTS = ["a photo of a cat", "ein Foto einer Katze"];

/**
 * The Node reference on the same bundle: `openModel` on onnxruntime-node with the Node decoders, the factory that
 * `siglip embed` runs (apps/cli's one-factory test holds them to cosine 1.0), reached from runtime: an app above
 * this one (the CLI) is not imported.
 */
async function nodeReference(dir: string): Promise<ProvidedContext["reference"]> {
  const { engineTowers, openModel } = await import("@siglip-edge/runtime");
  const { createNodeEngine, fsBundleSource, initNodeDecoders } = await import("@siglip-edge/runtime/node");
  const m = await openModel({ source: fsBundleSource(dir), towers: engineTowers(createNodeEngine()), foldTokenIds: true, initDecoders: initNodeDecoders });
  const photos = ["skimage/coins.png", "matplotlib/grace_hopper.jpg"].map((name) => new Uint8Array(readFileSync(join(PHOTOS, name))));
  const [imageEmbedding, jpegEmbedding] = (await m.embedImages(photos)).map((v) => Array.from(v)) as [number[], number[]];
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
