/**
 * `siglip audit run`: embed a dataset's images, captions and prompts through a provider (batched, concurrent,
 * cached and resumable), compute the report and write DIR/report.json and DIR/index.html.
 * @module
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { computeAudit, textsToEmbed, type AuditOptions } from "../compute.ts";
import { renderDashboard } from "../dashboard.ts";
import type { AuditDataset, DatasetImage, FairFaceLabel } from "../dataset.ts";
import type { PromptSet } from "../prompt-sets.ts";
import type { AuditReport } from "../report-schema.ts";
import { EmbeddingCache, type EmbeddingKind } from "./cache.ts";
import { sha256, type EmbeddingProvider, type ImageInput } from "./providers.ts";

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
}

interface Item<T> {
  hash: string;
  input: T;
}

/**
 * Embeds the items missing from the cache, in batches with up to `concurrency` in flight; every finished batch is
 * committed at once. Returns hash -> vector for all items.
 */
async function embedAll<T>(
  cache: EmbeddingCache,
  provider: EmbeddingProvider,
  kind: EmbeddingKind,
  items: Item<T>[],
  embed: (inputs: T[]) => Promise<Float32Array>,
  opts: { batch: number; concurrency: number; runId: string; seq: { n: number }; onProgress?: (p: Progress) => void },
): Promise<Map<string, Float32Array>> {
  const unique = [...new Map(items.map((it) => [it.hash, it])).values()];
  const have = cache.getMany(provider.model, provider.revision, kind, unique.map((u) => u.hash));
  const missing = unique.filter((u) => !have.has(u.hash));
  const phase = kind === "image" ? "images" : "texts";
  let done = have.size;
  opts.onProgress?.({ phase, done, total: unique.length, cached: have.size });
  const batches: Item<T>[][] = [];
  for (let i = 0; i < missing.length; i += opts.batch) batches.push(missing.slice(i, i + opts.batch));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++] as Item<T>[];
      const flat = await embed(b.map((x) => x.input));
      const D = provider.dim;
      if (flat.length !== b.length * D) throw new SiglipError("BACKEND_BAD_RESPONSE", `provider returned ${flat.length} values for ${b.length} x ${D}`);
      const entries = b.map((x, i) => ({ hash: x.hash, vector: flat.slice(i * D, (i + 1) * D) }));
      cache.putBatch(provider.model, provider.revision, kind, entries, opts.runId, opts.seq.n++);
      for (const e of entries) have.set(e.hash, e.vector);
      done += b.length;
      opts.onProgress?.({ phase, done, total: unique.length, cached: unique.length - missing.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, Math.max(1, batches.length)) }, worker));
  return have;
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
    const faceItems = (opts.fairface?.images ?? []).map(toItem);
    const common = { batch, concurrency, runId, seq, onProgress: opts.onProgress };
    const imageVecs = await embedAll(cache, provider, "image", [...imageItems, ...faceItems], (x) => provider.embedImages(x), common);
    const texts = textsToEmbed(dataset, promptSets, languages);
    const textItems = texts.map((t) => ({ hash: sha256(t), input: t }));
    const textVecs = await embedAll(cache, provider, "text", textItems, (x) => provider.embedTexts(x), common);
    const D = provider.dim;
    const images = new Float32Array(dataset.images.length * D);
    imageItems.forEach((it, i) => images.set(imageVecs.get(it.hash) as Float32Array, i * D));
    const faces = new Float32Array(faceItems.length * D);
    faceItems.forEach((it, i) => faces.set(imageVecs.get(it.hash) as Float32Array, i * D));
    const byText = new Map(textItems.map((t) => [t.input, textVecs.get(t.hash) as Float32Array]));
    const report = computeAudit(
      {
        dataset,
        promptSets,
        images,
        dim: D,
        text: (s) => byText.get(s) ?? (() => { throw new SiglipError("INTERNAL", `text not embedded: ${s}`); })(),
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
