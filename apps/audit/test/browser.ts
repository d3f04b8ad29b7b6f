/**
 * The headless Chromium that browser tests drive through playwright-core, found in one place (exported as
 * `@siglip-edge/audit/testing` for other workspaces' browser tests). In order:
 *
 * 1. `SIGLIP_CHROMIUM`: a Chromium (or Chrome) executable named by the user; an error when it does not exist.
 * 2. A system Chromium: `chromium` on the PATH (Debian, Fedora, Arch and Alpine package it under that name).
 * 3. The Chromium that ships inside the npm package `@sparticuz/chromium` (a devDependency, so `npm ci` brings it):
 *    its brotli-compressed `chromium-headless-shell` is unpacked once, without root, into
 *    `node_modules/.cache/siglip-chromium/<version>/` (else a per-user folder under the OS temp dir), written under
 *    a temporary name and renamed, so an interrupted or concurrent unpack never leaves a half-written binary. The
 *    binary needs only glibc and NSS; when the system has no NSS (slim Debian/Ubuntu images), the NSS libraries the
 *    package carries (built for glibc >= 2.34) are put on its LD_LIBRARY_PATH. Its bundled Open Sans is added to
 *    the system fonts, so text renders on machines without any font installed.
 * @module
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync } from "node:zlib";
import { chromium, type BrowserContext } from "playwright-core";

export interface TestChromium {
  executablePath: string;
  /** Extra environment for the browser process (library and font paths of the bundled browser). */
  env: Record<string, string>;
  source: "SIGLIP_CHROMIUM" | "system" | "@sparticuz/chromium";
}

/** Flags for a quiet, offline, GPU-less headless browser (the user data dir is always a fresh temporary one). */
export const CHROMIUM_ARGS: readonly string[] = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The regular files of a ustar archive (all this package's archives hold), as path -> bytes. */
function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const text = (a: number, b: number): string => new TextDecoder().decode(tar.subarray(a, b)).replace(/\0.*$/s, "");
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = text(off, off + 100);
    if (name === "") break; // two zero blocks end the archive
    const size = parseInt(text(off + 124, off + 136).trim() || "0", 8);
    const type = text(off + 156, off + 157);
    const prefix = text(off + 345, off + 500);
    if (type === "0" || type === "") files.set(prefix ? `${prefix}/${name}` : name, tar.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Writes `bytes` to `path` through a temporary name, so readers never see a partial file. */
function writeAtomic(path: string, bytes: Uint8Array, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, bytes, { mode });
  renameSync(tmp, path);
}

function writableDir(candidates: readonly string[]): string {
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {
      // try the next one
    }
  }
  throw new Error(`no writable folder to unpack Chromium into (tried ${candidates.join(", ")})`);
}

/** Runs `exe --version`; returns stderr on failure (a missing shared library shows up here). */
function probe(exe: string, env: Record<string, string>): { ok: boolean; message: string } {
  const r = spawnSync(exe, ["--version"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });
  return { ok: r.status === 0, message: (r.stderr || r.error?.message || `exit ${r.status}`).trim() };
}

/** Unpacks @sparticuz/chromium's browser (once per version) and returns it with the environment it needs. */
export function bundledChromium(): TestChromium {
  const pkgDir = join(dirname(fileURLToPath(import.meta.resolve("@sparticuz/chromium"))), "..");
  const bin = join(pkgDir, "bin");
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const root = writableDir([join(pkgDir, "..", "..", ".cache", "siglip-chromium"), join(tmpdir(), `siglip-chromium-${uid}`)]);
  const dir = join(root, version);
  const exe = join(dir, "chromium");
  if (!existsSync(exe)) writeAtomic(exe, brotliDecompressSync(readFileSync(join(bin, "chromium.br"))), 0o755);
  const fontsConf = join(dir, "fonts.conf");
  if (!existsSync(fontsConf)) {
    for (const [name, bytes] of untar(brotliDecompressSync(readFileSync(join(bin, "fonts.tar.br"))))) {
      if (name.startsWith("fonts/")) writeAtomic(join(dir, name), bytes, 0o644);
    }
    const conf = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      "<fontconfig>",
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
      "  <dir>/usr/share/fonts</dir>",
      `  <dir>${join(dir, "fonts")}</dir>`,
      `  <cachedir>${join(dir, "fontconfig-cache")}</cachedir>`,
      "</fontconfig>",
      "",
    ].join("\n");
    writeAtomic(fontsConf, new TextEncoder().encode(conf), 0o644);
  }
  const env: Record<string, string> = { FONTCONFIG_FILE: fontsConf };
  const plain = probe(exe, env);
  if (plain.ok) return { executablePath: exe, env, source: "@sparticuz/chromium" };
  // No system NSS: use the libraries the package carries for Amazon Linux 2023 (glibc >= 2.34).
  const lib = join(dir, "lib");
  if (!existsSync(join(lib, ".complete"))) {
    for (const [name, bytes] of untar(brotliDecompressSync(readFileSync(join(bin, "al2023.tar.br"))))) {
      if (name.startsWith("lib/")) writeAtomic(join(dir, name), bytes, 0o755);
    }
    writeAtomic(join(lib, ".complete"), new Uint8Array(0), 0o644);
  }
  const withLibs = { ...env, LD_LIBRARY_PATH: [lib, process.env["LD_LIBRARY_PATH"]].filter((s) => s).join(delimiter) };
  const second = probe(exe, withLibs);
  if (second.ok) return { executablePath: exe, env: withLibs, source: "@sparticuz/chromium" };
  throw new Error(`the bundled Chromium (${exe}) does not start here: ${plain.message}; with its own NSS libraries: ${second.message}`);
}

/** The Chromium for browser tests: SIGLIP_CHROMIUM, else `chromium` on the PATH, else the bundled one. */
export function locateChromium(env: NodeJS.ProcessEnv = process.env): TestChromium {
  const named = env["SIGLIP_CHROMIUM"];
  if (named !== undefined && named !== "") {
    if (!existsSync(named)) throw new Error(`SIGLIP_CHROMIUM=${named} does not exist`);
    return { executablePath: named, env: {}, source: "SIGLIP_CHROMIUM" };
  }
  const system = onPath("chromium", env);
  if (system !== undefined) return { executablePath: system, env: {}, source: "system" };
  return bundledChromium();
}

/** A headless browser context on a fresh profile; `close()` also removes the profile. */
export async function launchChromium(opts: { viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; chromium: TestChromium; close: () => Promise<void> }> {
  const found = locateChromium();
  const userDir = mkdtempSync(join(tmpdir(), "siglip-chromium-profile-"));
  try {
    const context = await chromium.launchPersistentContext(userDir, {
      executablePath: found.executablePath,
      headless: true,
      env: { ...process.env, ...found.env },
      args: [...CHROMIUM_ARGS],
      ...(opts.viewport ? { viewport: opts.viewport } : {}),
    });
    return {
      context,
      chromium: found,
      close: async () => {
        await context.close();
        rmSync(userDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(userDir, { recursive: true, force: true });
    throw err;
  }
}
