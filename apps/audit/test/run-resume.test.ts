/**
 * `siglip audit run` as real processes: SIGKILL at 5 random points, resume, and compare with an uninterrupted run.
 * Uses the deterministic stand-in provider (the model runtime provider plugs into the same interface).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRng } from "@siglip-edge/metrics";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddingCache } from "../src/node/cache.ts";

const CLI = resolve(import.meta.dirname, "../../cli/bin/siglip.js");
const work = mkdtempSync(join(tmpdir(), "siglip-audit-resume-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BATCH = 8;
const CONCURRENCY = 2;
const args = (out: string) => ["audit", "run", "--provider", "stand-in", "--out", out, "--languages", "en,de,ja,sw,mi", "--prompts", "gender,age", "--batch", String(BATCH), "--concurrency", String(CONCURRENCY), "--resamples", "300", "--seed", "7"];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the CLI; with `killAfterMs`, sends SIGKILL that long after the first progress line. */
function runCli(out: string, log: string, killAfterMs?: number): Promise<Outcome> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args(out)], {
      env: { ...process.env, SIGLIP_AUDIT_STANDIN_LOG: log, SIGLIP_AUDIT_STANDIN_DELAY_MS: "25" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let armed = false;
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (killAfterMs !== undefined && !armed && /images|texts/.test(stderr)) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stderr }));
  });
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : []);

describe("audit run: kill and resume", () => {
  it("5 SIGKILLs at random points, then a resume, give the uninterrupted report; only in-flight batches are recomputed", async () => {
    const refDir = join(work, "ref");
    const refLog = join(work, "ref.log");
    const ref = await runCli(refDir, refLog);
    expect(ref.code, ref.stderr).toBe(0);
    expect(ref.stderr).toMatch(/STAND-IN/);
    const distinct = lines(refLog).length;
    expect(new Set(lines(refLog)).size).toBe(distinct); // an uninterrupted run computes each input once

    const dir = join(work, "killed");
    const log = join(work, "killed.log");
    const rng = createRng(2026);
    const kills: { afterMs: number; signal: string | null; computedSoFar: number }[] = [];
    for (let k = 0; k < 5; k++) {
      const afterMs = 20 + rng.int(500);
      const r = await runCli(dir, log, afterMs);
      kills.push({ afterMs, signal: r.signal, computedSoFar: new Set(lines(log)).size });
    }
    const killed = kills.filter((k) => k.signal === "SIGKILL").length;
    const resumed = await runCli(dir, log);
    expect(resumed.code, resumed.stderr).toBe(0);

    expect(readFileSync(join(dir, "report.json"), "utf8")).toBe(readFileSync(join(refDir, "report.json"), "utf8"));
    expect(readFileSync(join(dir, "index.html"), "utf8")).toBe(readFileSync(join(refDir, "index.html"), "utf8"));

    const all = lines(log);
    const unique = new Set(all).size;
    const recomputed = all.length - unique;
    expect(unique).toBe(distinct); // nothing lost
    // SIGKILL can only lose batches that were computed but not yet committed: at most `concurrency` per kill
    expect(recomputed).toBeLessThanOrEqual(killed * BATCH * CONCURRENCY);
    const cache = new EmbeddingCache(join(dir, "embeddings.sqlite"));
    const stats = cache.stats();
    cache.close();
    // every stored vector was inserted exactly once according to the ledger written in the same transactions
    expect(stats.vectors).toBe(distinct);
    expect(stats.ledgerInserted).toBe(distinct);

    // a rerun of a finished audit computes nothing
    const before = all.length;
    const again = await runCli(dir, log);
    expect(again.code).toBe(0);
    expect(lines(log).length).toBe(before);
    expect(readFileSync(join(dir, "report.json"), "utf8")).toBe(readFileSync(join(refDir, "report.json"), "utf8"));
    console.log("kill/resume:", JSON.stringify({ distinctInputs: distinct, kills, killedMidRun: killed, computedTotal: all.length, recomputedInFlight: recomputed, ledger: stats }));
    expect(killed).toBeGreaterThanOrEqual(3); // the kills really landed mid-run
  }, 180_000);
});
