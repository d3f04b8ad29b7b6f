/**
 * The lock file holds one wrangler, one miniflare and one workerd (the Workers tests of three packages and
 * `npm start` all run the same local runtime), read from what `npm ls` reports for the installed tree.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

interface Node {
  version?: string;
  dependencies?: Record<string, Node>;
}

function versions(tree: Node, name: string, out = new Set<string>()): Set<string> {
  for (const [dep, node] of Object.entries(tree.dependencies ?? {})) {
    if (dep === name && node.version !== undefined) out.add(node.version);
    versions(node, name, out);
  }
  return out;
}

describe("package-lock.json", () => {
  it("has one version each of wrangler, miniflare and workerd", () => {
    const names = ["wrangler", "miniflare", "workerd"];
    const r = spawnSync("npm", ["ls", "--all", "--json", ...names], { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8", maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0); // npm ls also fails on an invalid or missing override
    const tree = JSON.parse(r.stdout) as Node;
    const found = Object.fromEntries(names.map((n) => [n, [...versions(tree, n)]]));
    console.log(`[lock] ${JSON.stringify(found)}`);
    for (const n of names) expect(found[n], n).toHaveLength(1);
  });
});
