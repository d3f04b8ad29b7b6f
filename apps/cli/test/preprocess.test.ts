import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decodeNpy } from "@siglip-edge/core";
import { FIXTURES, goldens } from "@siglip-edge/preprocess/testing";

const BIN = fileURLToPath(new URL("../bin/siglip.js", import.meta.url));

function siglip(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: process.env });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

const sha = (a: ArrayBufferView): string => createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");

describe("siglip preprocess", () => {
  const rel = "photos/sklearn/china.jpg";
  const g = goldens.images[rel];
  const dir = mkdtempSync(join(tmpdir(), "siglip-pp-"));

  it("writes FixRes pixel_values equal to the HF reference", () => {
    const out = join(dir, "fixres.npy");
    const r = siglip(["preprocess", join(FIXTURES, rel), "--mode", "fixres", "--size", "384", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const t = decodeNpy(new Uint8Array(readFileSync(out)));
    expect(t.dtype).toBe("float32");
    expect(t.dims).toEqual([1, 3, 384, 384]);
    expect(sha(t.data)).toBe(g?.fixres["384"]);
  }, 60_000);

  it("writes the three NaFlex arrays with the reference dtypes, shapes and values", () => {
    const out = join(dir, "naflex");
    const r = siglip(["preprocess", join(FIXTURES, rel), "--mode", "naflex", "--max-patches", "576", "--out-dir", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const pv = decodeNpy(new Uint8Array(readFileSync(join(out, "pixel_values.npy"))));
    const mask = decodeNpy(new Uint8Array(readFileSync(join(out, "pixel_attention_mask.npy"))));
    const shapes = decodeNpy(new Uint8Array(readFileSync(join(out, "spatial_shapes.npy"))));
    expect([pv.dtype, mask.dtype, shapes.dtype]).toEqual(["float32", "int32", "int64"]);
    expect([pv.dims, mask.dims, shapes.dims]).toEqual([[1, 576, 768], [1, 576], [1, 2]]);
    expect(sha(pv.data)).toBe(g?.naflex["576"]?.sha256);
    const [nh, nw] = Array.from(shapes.data as BigInt64Array, Number);
    expect([nh, nw]).toEqual(g?.naflex["576"]?.spatialShape);
    expect(Array.from(mask.data as Int32Array).reduce((a, b) => a + b, 0)).toBe((nh ?? 0) * (nw ?? 0));
  }, 60_000);

  it("fails with one line and exit code 2 on bad input", () => {
    const bad = join(dir, "not-an-image.jpg");
    writeFileSync(bad, "hello");
    const cases: [string[], RegExp][] = [
      [["preprocess", bad, "--mode", "fixres", "--out", join(dir, "x.npy")], /IMAGE_UNSUPPORTED_FORMAT/],
      [["preprocess", join(dir, "missing.png"), "--mode", "fixres", "--out", join(dir, "x.npy")], /NOT_FOUND/],
      [["preprocess", join(FIXTURES, rel), "--mode", "fixres"], /needs --out/],
      [["preprocess", join(FIXTURES, rel), "--mode", "fixres", "--out", join(dir, "x.npy"), "--max-pixels", "1000"], /IMAGE_TOO_LARGE/],
    ];
    for (const [args, re] of cases) {
      const r = siglip(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  }, 60_000);
});
