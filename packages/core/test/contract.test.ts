/** The bundle manifest contract (parse, digests, size and sha256 checks), the base64 codec and sha256Hex. */
import { describe, expect, it } from "vitest";
import {
  base64ToBytes,
  base64ToFloat32,
  bytesToBase64,
  checkFileSha256,
  checkFileSize,
  fileDigest,
  float32ToBase64,
  parseManifest,
  sha256Hex,
  verifyManifestFiles,
  type BundleManifest,
} from "../src/index.ts";

const manifest = {
  format: "siglip-edge-bundle",
  version: 1,
  graphs: { vision: "vision.onnx", text: "text.onnx", textSplit: "text_split.onnx" },
  tokenTable: { file: "t.bin", dtype: "float32", rows: 2, dim: 2, scales: null },
  sizes: {},
  preprocessing: { kind: "fixres" },
  text: { maxLength: 4 },
  files: [{ path: "a.bin", role: "token-table", bytes: 3, sha256: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD" }],
} as unknown as BundleManifest;

describe("bundle manifest", () => {
  it("parses a v1 manifest and refuses other formats, versions, missing sections and non-JSON with CHECKPOINT_INVALID", () => {
    expect(parseManifest(JSON.stringify(manifest), "x/").files[0]?.path).toBe("a.bin");
    expect(parseManifest(new TextEncoder().encode(JSON.stringify(manifest)), "x/").version).toBe(1);
    const bad = [
      ["{", "x/manifest.json is not JSON"],
      [JSON.stringify({ ...manifest, version: 2 }), "format siglip-edge-bundle v2 is not siglip-edge-bundle v1"],
      [JSON.stringify({ ...manifest, format: "other" }), "format other v1"],
      [JSON.stringify({ ...manifest, graphs: undefined }), "lacks graphs"],
      ["null", "is not an object"],
    ] as const;
    for (const [text, message] of bad) expect(() => parseManifest(text, "x/")).toThrow(expect.objectContaining({ code: "CHECKPOINT_INVALID", message: expect.stringContaining(message) }));
  });

  it("names the file in size and sha256 mismatches; a file the manifest does not list cannot be loaded", async () => {
    expect(fileDigest(manifest, "a.bin")).toEqual({ size: 3, sha256: manifest.files[0]?.sha256 });
    expect(() => fileDigest(manifest, "b.bin")).toThrow(expect.objectContaining({ code: "CHECKPOINT_INVALID" }));
    expect(() => checkFileSize("r2://m/", "a.bin", 4, { size: 3 })).toThrow(expect.objectContaining({ code: "INTEGRITY_MISMATCH", message: "bundle file r2://m/a.bin has 4 bytes, manifest says 3", details: { file: "a.bin" } }));
    expect(() => checkFileSha256("", "a.bin", "00", "ff")).toThrow(expect.objectContaining({ code: "INTEGRITY_MISMATCH", message: "bundle file a.bin has sha256 00, manifest says ff" }));
    // "abc": the FIPS 180-2 test vector; the manifest's upper-case hex is accepted.
    const files: Record<string, Uint8Array> = { "a.bin": new TextEncoder().encode("abc") };
    const probe = { location: "", size: async (p: string) => files[p]?.length ?? -1, sha256: (p: string) => sha256Hex(files[p] as Uint8Array) };
    await expect(verifyManifestFiles(manifest, probe)).resolves.toBeUndefined();
    files["a.bin"] = new TextEncoder().encode("abd");
    await expect(verifyManifestFiles(manifest, probe, { hashes: false })).resolves.toBeUndefined();
    await expect(verifyManifestFiles(manifest, probe)).rejects.toMatchObject({ code: "INTEGRITY_MISMATCH", message: expect.stringContaining("a.bin has sha256 a52d159f") });
  });
});

describe("codecs", () => {
  it("sha256Hex of a string is the digest of its UTF-8", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("é")).toBe(await sha256Hex(Uint8Array.of(0xc3, 0xa9)));
  });

  it("base64 round-trips bytes (across the 32 KiB slicing) and little-endian float32 vectors", () => {
    expect(bytesToBase64(Uint8Array.of(0, 255, 1))).toBe("AP8B");
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256);
    expect(Array.from(base64ToBytes(bytesToBase64(big)))).toEqual(Array.from(big));
    expect(float32ToBase64([1])).toBe("AACAPw=="); // 1.0f = 0x3f800000, little-endian
    const v = Float32Array.of(-0.5, 3.25, 1e-30, Number.MAX_VALUE);
    expect(Array.from(base64ToFloat32(float32ToBase64(v)))).toEqual(Array.from(v));
    expect(() => base64ToBytes("*")).toThrow();
  });
});
