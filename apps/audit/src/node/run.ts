/**
 * `siglip audit run`: embed a dataset's images, captions and prompts through a provider (batched, concurrent,
 * cached and resumable), compute the report and write DIR/report.json and DIR/index.html. Text vectors stay in the
 * cache and are read one language at a time; retrieval streams similarity tiles from onnxruntime-node's MatMul.
 * @module
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import type { SimilarityKernel } from "@siglip-edge/metrics";
import { computeAudit, retrievalByLanguage, textsToEmbed, type AuditOptions } from "../compute.ts";
import { renderDashboard } from "../dashboard.ts";
import type { AuditDataset, DatasetImage, FairFaceLabel } from "../dataset.ts";
import type { PromptSet } from "../prompt-sets.ts";
import type { AuditReport } from "../report-schema.ts";
import { EmbeddingCache, type EmbeddingKind } from "./cache.ts";
import { sha256, type EmbeddingProvider, type ImageInput } from "./providers.ts";
import { THUMBNAIL_MAX_SIDE, writeThumbnails } from "./thumbnails.ts";

export interface Progress {
  phase: "images" | "texts";
  done: number;
  total: number;
  /** Already in the cache at start. */
  cached: number;
}

export interface RunOptions extends AuditOptions {
  out: string;
  /** Labelled face images for association bias and ranking skew (FairFace format). */
  fairface?: { labels: FairFaceLabel[]; images: DatasetImage[] };
  batch?: number;
  concurrency?: number;
  onProgress?: (p: Progress) => void;
  /** Similarity kernel of the retrieval; default onnxruntime-node's MatMul on every core (@siglip-edge/runtime). */
  kernel?: SimilarityKernel;
  /** Longer side of the dashboard's thumbnails in OUT/thumbs (default 96 px); 0 writes none. */
  thumbnails?: number;
}

interface Item<T> {
  hash: string;
  input: T;
}

/**
 * Embeds the items missing from the cache, in batches with up to `concurrency` in flight; every finished batch is
 * committed at once. Keeps no vector: read them back from the cache.
 */
async function embedMissing<T>(
  cache: EmbeddingCache,
  provider: EmbeddingProvider,
  kind: EmbeddingKind,
  items: Item<T>[],
  embed: (inputs: T[]) => Promise<Float32Array>,
  opts: { batch: number; concurrency: number; runId: string; seq: { n: number }; onProgress?: (p: Progress) => void },
): Promise<void> {
  const unique = [...new Map(items.map((it) => [it.hash, it])).values()];
  const absent = new Set(cache.missing(provider.model, provider.revision, kind, unique.map((u) => u.hash)));
  const missing = unique.filter((u) => absent.has(u.hash));
  const cached = unique.length - missing.length;
  const phase = kind === "image" ? "images" : "texts";
  let done = cached;
  opts.onProgress?.({ phase, done, total: unique.length, cached });
  const batches: Item<T>[][] = [];
  for (let i = 0; i < missing.length; i += opts.batch) batches.push(missing.slice(i, i + opts.batch));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++] as Item<T>[];
      const flat = await embed(b.map((x) => x.input));
      const D = provider.dim;
      if (flat.length !== b.length * D) throw new SiglipError("BACKEND_BAD_RESPONSE", `provider returned ${flat.length} values for ${b.length} x ${D}`);
      const entries = b.map((x, i) => ({ hash: x.hash, vector: flat.subarray(i * D, (i + 1) * D) }));
      cache.putBatch(provider.model, provider.revision, kind, entries, opts.runId, opts.seq.n++);
      done += b.length;
      opts.onProgress?.({ phase, done, total: unique.length, cached });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, Math.max(1, batches.length)) }, worker));
}

async function nativeKernel(): Promise<SimilarityKernel & { close(): Promise<void> }> {
  const { createMatmulKernel } = await import("@siglip-edge/runtime/node");
  return createMatmulKernel();
}

/** Runs the audit end to end; returns the report (also written to `out`). */
export async function runAudit(provider: EmbeddingProvider, dataset: AuditDataset, promptSets: readonly PromptSet[], opts: RunOptions): Promise<AuditReport> {
  mkdirSync(opts.out, { recursive: true });
  const cache = new EmbeddingCache(join(opts.out, "embeddings.sqlite"));
  const runId = randomUUID();
  const seq = { n: 0 };
  const batch = opts.batch ?? 32;
  const concurrency = opts.concurrency ?? 2;
  const languages = (opts.languages ?? dataset.languages).filter((l) => dataset.languages.includes(l));
  try {
    const toItem = (im: DatasetImage): Item<ImageInput> => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(im.path);
      } catch (err) {
        throw new SiglipError("NOT_FOUND", `dataset image ${im.key} not found at ${im.path}`, { cause: err });
      }
      return { hash: sha256(bytes), input: { key: im.key, path: im.path, bytes } };
    };
    const imageItems = dataset.images.map(toItem);
    const thumbs = await writeThumbnails(opts.out, imageItems.map((it) => ({ bytes: it.input.bytes, hash: it.hash })), opts.thumbnails ?? THUMBNAIL_MAX_SIDE);
    const faceItems = (opts.fairface?.images ?? []).map(toItem);
    const common = { batch, concurrency, runId, seq, onProgress: opts.onProgress };
    await embedMissing(cache, provider, "image", [...imageItems, ...faceItems], (x) => provider.embedImages(x), common);
    const texts = textsToEmbed(dataset, promptSets, languages);
    const textItems = texts.map((t) => ({ hash: sha256(t), input: t }));
    await embedMissing(cache, provider, "text", textItems, (x) => provider.embedTexts(x), common);
    const D = provider.dim;
    const imageVecs = cache.getMany(provider.model, provider.revision, "image", [...imageItems, ...faceItems].map((it) => it.hash));
    const images = new Float32Array(dataset.images.length * D);
    imageItems.forEach((it, i) => images.set(imageVecs.get(it.hash) as Float32Array, i * D));
    const faces = new Float32Array(faceItems.length * D);
    faceItems.forEach((it, i) => faces.set(imageVecs.get(it.hash) as Float32Array, i * D));
    const hashOf = new Map(textItems.map((t) => [t.input, t.hash]));
    const readText = cache.reader(provider.model, provider.revision, "text");
    const text = (s: string): Float32Array => {
      const h = hashOf.get(s);
      const v = h === undefined ? undefined : readText(h);
      if (v === undefined) throw new SiglipError("INTERNAL", `text not embedded: ${s}`);
      return v;
    };
    const kernel = opts.kernel ?? (await nativeKernel());
    let retrieval;
    try {
      retrieval = await retrievalByLanguage({ dataset, images, dim: D, text }, kernel, { ...opts, languages });
    } finally {
      if (opts.kernel === undefined) await (kernel as Awaited<ReturnType<typeof nativeKernel>>).close();
    }
    const report = computeAudit(
      {
        dataset,
        promptSets,
        images,
        dim: D,
        text,
        retrieval,
        thumbnails: { spec: thumbs.paths.some((p) => p !== null) ? thumbs.spec : null, paths: thumbs.paths },
        ...(opts.fairface ? { demographic: { images: faces, labels: opts.fairface.labels } } : {}),
        model: { id: provider.model, revision: provider.revision, provider: provider.kind, standIn: provider.standIn, ...(provider.note ? { note: provider.note } : {}) },
      },
      { ...opts, languages },
    );
    // Write-then-rename so a kill never leaves a truncated report behind.
    const write = (name: string, text: string) => {
      writeFileSync(join(opts.out, `${name}.tmp`), text);
      renameSync(join(opts.out, `${name}.tmp`), join(opts.out, name));
    };
    write("report.json", JSON.stringify(report, null, 1) + "\n");
    write("index.html", renderDashboard(report));
    return report;
  } finally {
    cache.close();
  }
}

/** A one-line progress bar with rate and ETA for a terminal (rewritten in place) or a log (every 10 %). */
export function progressPrinter(write: (s: string) => void, isTTY: boolean, now: () => number = Date.now): (p: Progress) => void {
  let start = 0;
  let startDone = 0;
  let lastPhase = "";
  let lastDecile = -1;
  return (p) => {
    if (p.phase !== lastPhase) {
      lastPhase = p.phase;
      start = now();
      startDone = p.done;
      lastDecile = -1;
    }
    const secs = (now() - start) / 1000;
    const rate = secs > 0 ? (p.done - startDone) / secs : 0;
    const eta = rate > 0 ? Math.ceil((p.total - p.done) / rate) : Number.NaN;
    const width = 24;
    const filled = p.total === 0 ? width : Math.round((width * p.done) / p.total);
    const line = `${p.phase.padEnd(6)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${p.done}/${p.total} (${p.cached} cached) ${rate.toFixed(1)}/s ETA ${Number.isFinite(eta) ? `${eta}s` : "-"}`;
    if (isTTY) write(`\r${line}${p.done === p.total ? "\n" : ""}`);
    else {
      const decile = p.total === 0 ? 10 : Math.floor((10 * p.done) / p.total);
      if (decile !== lastDecile) {
        lastDecile = decile;
        write(`${line}\n`);
      }
    }
  };
}
