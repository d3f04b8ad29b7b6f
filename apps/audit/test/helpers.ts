/** Test helpers: synthetic embeddings with a known structure for the default dataset. */
import { createRng } from "@siglip-edge/metrics";
import { computeAudit, type AuditInputs } from "../src/compute.ts";
import { loadDefaultDataset, type AuditDataset } from "../src/dataset.ts";
import { parsePromptSet, type PromptSet } from "../src/prompt-sets.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../src/dataset.ts";
import type { AuditReport } from "../src/report-schema.ts";

export function builtinPromptSets(): PromptSet[] {
  return ["gender", "age", "occupation"].map((id) => {
    const path = join(REPO_ROOT, "fixtures/prompts", `${id}.json`);
    return parsePromptSet(JSON.parse(readFileSync(path, "utf8")), path);
  });
}

/**
 * Embeddings where each caption is its image's vector plus language-dependent noise (so recall varies by language in
 * a known direction: noise grows with the language's index), and prompts are random.
 */
export function syntheticInputs(dataset: AuditDataset, promptSets: PromptSet[], seed: number, noiseScale = 1): AuditInputs {
  const D = 32;
  const rng = createRng(seed);
  const gauss = () => {
    const u = Math.max(rng.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  };
  const images = Float32Array.from({ length: dataset.images.length * D }, gauss);
  const byText = new Map<string, Float32Array>();
  for (const c of dataset.captions) {
    if (byText.has(c.text)) continue;
    const noise = noiseScale * (0.2 + 0.05 * dataset.languages.indexOf(c.language));
    byText.set(c.text, Float32Array.from({ length: D }, (_, k) => (images[c.image * D + k] as number) + noise * gauss()));
  }
  const text = (s: string) => {
    let v = byText.get(s);
    if (v === undefined) {
      v = Float32Array.from({ length: D }, gauss);
      byText.set(s, v);
    }
    return v;
  };
  void promptSets;
  return { dataset, promptSets, images, dim: D, text, model: { id: `synthetic-${seed}`, revision: "r1", provider: "test", standIn: true, note: "synthetic test embeddings" } };
}

export function syntheticReport(seed = 1, noiseScale = 1): AuditReport {
  const dataset = loadDefaultDataset();
  const sets = builtinPromptSets();
  return computeAudit(syntheticInputs(dataset, sets, seed, noiseScale), { seed: 3, resamples: 200 });
}

/** A synthetic report with 40 labelled faces and the zero-shot and denigration sets, so the demographics section is filled. */
export function syntheticReportWithFaces(seed = 1, noiseScale = 4): AuditReport {
  const dataset = loadDefaultDataset();
  const zsPath = join(REPO_ROOT, "fixtures/prompts/zero-shot.json");
  const dnPath = join(REPO_ROOT, "fixtures/prompts/denigration.json");
  const sets = [...builtinPromptSets(), parsePromptSet(JSON.parse(readFileSync(zsPath, "utf8")), zsPath), parsePromptSet(JSON.parse(readFileSync(dnPath, "utf8")), dnPath)];
  const inputs = syntheticInputs(dataset, sets, seed, noiseScale);
  const rng = createRng(seed + 100);
  const N = 40;
  const races = ["Black", "White", "East Asian", "Indian"];
  const labels = Array.from({ length: N }, (_, i) => ({ file: `${i}.jpg`, gender: i % 2 === 0 ? "Female" : "Male", race: races[i % 4] as string, age: i < 20 ? "20-29" : "50-59" }));
  const images = Float32Array.from({ length: N * inputs.dim }, () => rng.next() - 0.5);
  return computeAudit({ ...inputs, demographic: { images, labels } }, { seed: 3, resamples: 200 });
}

/**
 * A synthetic report as `siglip audit run` leaves it: DIR/report.json, DIR/index.html and the real thumbnails of
 * the default dataset's photos in DIR/thumbs (made by the run's thumbnail writer).
 */
export async function writeSyntheticRun(dir: string, seed: number, noiseScale: number, id = `synthetic-${seed}`): Promise<AuditReport> {
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const { writeThumbnails } = await import("../src/node/thumbnails.ts");
  const { renderDashboard } = await import("../src/dashboard.ts");
  const { sha256 } = await import("../src/node/providers.ts");
  const { parseReport } = await import("../src/report-schema.ts");
  mkdirSync(dir, { recursive: true });
  const dataset = loadDefaultDataset();
  const thumbs = await writeThumbnails(
    dir,
    dataset.images.map((im) => {
      const bytes = new Uint8Array(readFileSync(im.path));
      return { bytes, hash: sha256(bytes) };
    }),
  );
  const inputs = syntheticInputs(dataset, builtinPromptSets(), seed, noiseScale);
  const report = computeAudit({ ...inputs, model: { ...inputs.model, id }, thumbnails: { spec: thumbs.spec, paths: thumbs.paths } }, { seed: 3, resamples: 100 });
  writeFileSync(join(dir, "report.json"), JSON.stringify(report, null, 1) + "\n");
  writeFileSync(join(dir, "index.html"), renderDashboard(report));
  return parseReport(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")));
}
