/**
 * Each workspace README's file table matches its files (issue 14): every file under `src/` is named in a table whose
 * first column is headed `file` or `path`, and every path such a table names exists. In a cell, paths are separated
 * by commas; a bare name (`codec.ts` after `src/kserve/client.ts`) is in the folder of the path before it, and a path
 * ending in `/` names the whole folder. The repository README's layout table names every workspace.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const WORKSPACES = ["packages", "apps"].flatMap((top) => readdirSync(join(ROOT, top)).map((d) => `${top}/${d}`)).filter((w) => existsSync(join(ROOT, w, "package.json")));

function filesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

/** The paths named in the first column of the README's `file` / `path` tables. */
export function tablePaths(md: string): string[] {
  const out: string[] = [];
  let inTable = false;
  for (const line of md.split("\n")) {
    if (!line.startsWith("|")) {
      inTable = false;
      continue;
    }
    const first = line.split("|")[1]?.trim() ?? "";
    if (/^(file|path)s?$/i.test(first)) {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(first.replaceAll(":", ""))) continue;
    let dir = "";
    for (const m of first.matchAll(/`([^`]+)`/g)) {
      const p = (m[1] as string).trim();
      const full = p.replace(/\/$/, "").includes("/") ? p : posix.join(dir, p);
      dir = full.endsWith("/") ? full : posix.dirname(full);
      out.push(full);
    }
  }
  return out;
}

describe("README file tables", () => {
  it("reads paths, bare names in the folder before them, and folders", () => {
    const md = "| file | job |\n|---|---|\n| `src/a.ts`, `b.ts` | x |\n| `src/k/c.ts`, `d.ts`, `e/` | y |\n\n| name | z |\n|---|---|\n| `src/z.ts` | not a file table |\n";
    expect(tablePaths(md)).toEqual(["src/a.ts", "src/b.ts", "src/k/c.ts", "src/k/d.ts", "src/k/e/"]);
  });

  for (const w of WORKSPACES) {
    it(`${w}: every src file is in the table, every path in it exists`, () => {
      const dir = join(ROOT, w);
      const named = tablePaths(readFileSync(join(dir, "README.md"), "utf8"));
      const covered = (f: string) => named.some((p) => (p.endsWith("/") ? f.startsWith(p) : f === p));
      const unlisted = filesUnder(join(dir, "src")).map((f) => relative(dir, f).split("\\").join("/")).filter((f) => !covered(f));
      const stale = named.filter((p) => !existsSync(join(dir, p)) || (p.endsWith("/") && !statSync(join(dir, p)).isDirectory()));
      expect({ unlisted, stale }).toEqual({ unlisted: [], stale: [] });
    });
  }

  it("the repository README's layout table names every workspace", () => {
    const named = tablePaths(readFileSync(join(ROOT, "README.md"), "utf8")).map((p) => p.replace(/\/$/, ""));
    expect(WORKSPACES.filter((w) => !named.includes(w))).toEqual([]);
  });
});
