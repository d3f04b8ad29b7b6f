/**
 * `npm test`: every workspace's tests through turbo, one package at a time (2-core CI machines, deterministic
 * output), then one closing line with the totals over all packages: "N passed, N failed, N skipped".
 */
import { spawn } from "node:child_process";

const args = ["run", "test", "--concurrency=1", "--output-logs=full", ...process.argv.slice(2)];
const child = spawn("turbo", args, {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1", FORCE_COLOR: "0", NO_COLOR: "1" },
});

let passed = 0;
let failed = 0;
let skipped = 0;
let runs = 0;
let rest = "";
const ANSI = /\x1b\[[0-9;]*m/g;

function scan(line: string): void {
  // vitest's summary: "Tests  3 failed | 24 passed | 1 skipped (28)"
  const m = /^\s*(?:\S+:\s+)?Tests\s+(.*)\(\d+\)\s*$/.exec(line.replace(ANSI, ""));
  if (m === null || m[1] === undefined) return;
  runs++;
  for (const part of m[1].split("|")) {
    const [n, what] = part.trim().split(/\s+/);
    const count = Number(n);
    if (what === "passed") passed += count;
    else if (what === "failed") failed += count;
    else if (what === "skipped" || what === "todo") skipped += count;
  }
}

child.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  const text = rest + chunk.toString("utf8");
  const lines = text.split("\n");
  rest = lines.pop() ?? "";
  lines.forEach(scan);
});

child.on("close", (code) => {
  scan(rest);
  console.log(`\n${runs} test runs: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code ?? 1);
});
