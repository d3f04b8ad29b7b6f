/**
 * Audit pipeline throughput on the embedded default dataset (36 languages, all built-in prompt sets) with the
 * stand-in provider: embeddings/s through hashing, batching and the SQLite cache (cold), the all-cached rerun, and
 * the report computation. The model's own embeddings/s comes from @siglip-edge/runtime once it is plugged in.
 * Run: npm run bench -w @siglip-edge/audit
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { loadDefaultDataset, parsePromptSet, REPO_ROOT, textsToEmbed } from "../src/index.ts";
import { runAudit, StandInProvider } from "../src/node/index.ts";

const dataset = loadDefaultDataset();
const sets = ["gender", "age", "occupation"].map((id) => {
  const p = join(REPO_ROOT, "fixtures/prompts", `${id}.json`);
  return parsePromptSet(JSON.parse(readFileSync(p, "utf8")), p);
});
const out = mkdtempSync(join(tmpdir(), "audit-bench-"));
const provider = new StandInProvider({ dim: 768 });
const inputs = dataset.images.length + textsToEmbed(dataset, sets, dataset.languages).length;
let t0 = performance.now();
await runAudit(provider, dataset, sets, { out, resamples: 1000 });
const cold = (performance.now() - t0) / 1000;
t0 = performance.now();
await runAudit(provider, dataset, sets, { out, resamples: 1000 });
const warm = (performance.now() - t0) / 1000;
rmSync(out, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      inputs,
      dim: provider.dim,
      coldSeconds: +cold.toFixed(2),
      coldEmbeddingsPerSecond: Math.round(inputs / cold),
      allCachedRerunSeconds: +warm.toFixed(2),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
    },
    null,
    1,
  ),
);
