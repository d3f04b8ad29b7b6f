import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readGoldens } from "@siglip-edge/tokenizer/testing";

const BIN = fileURLToPath(new URL("../bin/siglip.js", import.meta.url));
const cache = mkdtempSync(join(tmpdir(), "siglip-cli-"));

/** Runs the real CLI in a child process, as a user would. */
function siglip(args: string[], input: Uint8Array | string = "") {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, env: { ...process.env, SIGLIP_CACHE: cache } });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

describe("siglip tokenize", () => {
  const edge = readGoldens("edge");
  // Texts without "\n" or "\r" survive the one-text-per-line framing.
  const lineable = edge.filter((g) => !/[\r\n]/.test(g.text) && g.text.length < 20_000);

  it("prints the reference ids, one JSON array per input line, in every lowercase mode", () => {
    for (const mode of ["none", "ascii", "unicode"] as const) {
      const input = Buffer.concat(lineable.map((g) => Buffer.concat([g.utf8Bytes ? Buffer.from(g.utf8Bytes) : Buffer.from(g.text, "utf8"), Buffer.from("\n")])));
      const r = siglip(["tokenize", "--lowercase", mode], input);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.length).toBe(lineable.length);
      lines.forEach((line, i) => expect(JSON.parse(line), lineable[i]?.id).toEqual(lineable[i]?.ids[mode]));
    }
    console.log(`siglip tokenize: ${lineable.length} edge-case lines x 3 modes match the reference`);
  }, 60_000);

  it("accepts a compact SGTK vocabulary and --max-length", () => {
    const dir = mkdtempSync(join(tmpdir(), "sgtk-"));
    const out = join(dir, "gemma.sgtk");
    const built = siglip(["vocab", "--out", out]);
    expect(built.stderr).toBe("");
    expect(built.code).toBe(0);
    const r = siglip(["tokenize", "--tokenizer", out, "--max-length", "8"], "a photo of a cat\r\n");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([235250, 2686, 576, 476, 4401, 1, 0, 0]);
  }, 60_000);

  it.each([
    [["tokenize", "--bogus"], /unknown flag --bogus/],
    [["tokenize", "--lowercase", "upper"], /--lowercase must be one of none\|ascii\|unicode/],
    [["tokenize", "--max-length", "0"], /--max-length must be between 1 and 4096/],
    [["tokenize", "--tokenizer", "/nonexistent/tokenizer.json"], /TOKENIZER_LOAD_FAILED: cannot read tokenizer file/],
    [["tokenize", "stray"], /unexpected argument "stray"/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ])("%j fails with one line and exit code 2", (args, message) => {
    const r = siglip(args, "x\n");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it("reports a tokenizer file that is not a vocabulary as a typed error", () => {
    const dir = mkdtempSync(join(tmpdir(), "badtok-"));
    const bad = join(dir, "tokenizer.json");
    writeFileSync(bad, '{"model": {"type": "WordPiece"}}');
    const r = siglip(["tokenize", "--tokenizer", bad], "x\n");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/VOCAB_FORMAT_INVALID/);
  });
});
