#!/usr/bin/env node
// Launcher for the `siglip` CLI. The sources are TypeScript run by Node's built-in type stripping (Node >= 22.18).
// On an older Node (this machine ships 20) it re-runs itself on the Node 22 that `npm ci` installs from the npm
// package `node` (a devDependency), so `npx siglip` works without a global install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
const here = dirname(fileURLToPath(import.meta.url));

if (major > 22 || (major === 22 && minor >= 18)) {
  const { main } = await import("../src/main.ts");
  process.exitCode = await main(process.argv.slice(2));
} else {
  let dir = here;
  let node22;
  for (;;) {
    const candidate = join(dir, "node_modules", "node", "bin", "node");
    if (existsSync(candidate)) {
      node22 = candidate;
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (node22 === undefined) {
    process.stderr.write(`siglip: error: Node ${process.versions.node} is too old (need >= 22.18); run \`npm ci\` at the repo root to install Node 22 locally\n`);
    process.exit(2);
  }
  const r = spawnSync(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
