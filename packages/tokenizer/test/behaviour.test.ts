import { describe, expect, it } from "vitest";
import { isSiglipError } from "@siglip-edge/core";
import { lowerAscii, lowerUnicode, Tokenizer } from "../src/index.ts";
import { gemma } from "./shared-tokenizer.ts";

const { sgtk: tok, sgtkBytes } = gemma();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isSiglipError(err) ? err.code : `untyped error: ${String(err)}`;
  }
  return undefined;
}

describe("SigLIP 2 encoding rules", () => {
  it("appends <eos> without <bos> and right-pads with <pad> to 64", () => {
    const ids = tok.encode("a photo of a cat");
    const raw = tok.tokenize("a photo of a cat");
    expect(ids.length).toBe(64);
    expect(Array.from(ids.slice(0, raw.length))).toEqual(raw);
    expect(ids[raw.length]).toBe(tok.eosId);
    expect(ids.slice(raw.length + 1).every((id) => id === tok.padId)).toBe(true);
    expect(raw).not.toContain(2); // <bos>
  });

  it("keeps <eos> as the last id when truncating (sticky EOS)", () => {
    const long = "cat ".repeat(200);
    const raw = tok.tokenize(long);
    expect(raw.length).toBeGreaterThan(64);
    const ids = tok.encode(long);
    expect(Array.from(ids.slice(0, 63))).toEqual(raw.slice(0, 63));
    expect(ids[63]).toBe(tok.eosId);
  });

  it("honours maxLength, including 1 (only <eos>)", () => {
    expect(Array.from(tok.encode("a photo", { maxLength: 1 }))).toEqual([tok.eosId]);
    const ids = tok.encode("a photo of a cat", { maxLength: 3 });
    expect(ids.length).toBe(3);
    expect(ids[2]).toBe(tok.eosId);
    expect(codeOf(() => tok.encode("x", { maxLength: 0 }))).toBe("INVALID_ARGUMENT");
  });

  it("encodes a batch row by row", () => {
    const { ids, dims } = tok.encodeBatch(["a", "b c", ""]);
    expect(dims).toEqual([3, 64]);
    expect(Array.from(ids.subarray(64, 128))).toEqual(Array.from(tok.encode("b c")));
  });

  it("defaults to ASCII lowercasing, the training-time rule", () => {
    expect(Array.from(tok.encode("A Photo"))).toEqual(Array.from(tok.encode("a photo", { lowercase: "none" })));
    expect(Array.from(tok.encode("ÉTÉ"))).toEqual(Array.from(tok.encode("ÉtÉ", { lowercase: "none" })));
  });

  it("rejects an unknown lowercase mode", () => {
    expect(codeOf(() => tok.encode("x", { lowercase: "upper" as never }))).toBe("INVALID_ARGUMENT");
  });
});

describe("lowercasing", () => {
  it("ascii touches A-Z only", () => {
    expect(lowerAscii("ABC xyz ÀÉ İ Σ")).toBe("abc xyz ÀÉ İ Σ");
  });

  it("unicode lowercases code point by code point, without the final-sigma context rule", () => {
    // String.prototype.toLowerCase would give "οδυσσευς" with a final "ς"; Rust's char::to_lowercase gives "σ".
    expect(lowerUnicode("ΟΔΥΣΣΕΥΣ")).toBe("οδυσσευσ");
    expect(lowerUnicode("İ")).toBe("i\u0307"); // one code point becomes two
    expect(lowerUnicode("𐐀")).toBe("𐐨"); // astral (Deseret)
    expect(lowerUnicode("ẞ")).toBe("ß");
  });
});

describe("bad input never crashes", () => {
  it("replaces lone surrogates with U+FFFD, like a UTF-8 round trip", () => {
    expect(Array.from(tok.encode("a\ud800b\udc00"))).toEqual(Array.from(tok.encode("a\ufffdb\ufffd")));
  });

  it("encodes NUL and control characters through byte fallback", () => {
    const ids = tok.tokenize("a\u0000b", "none");
    expect(ids).toContain(217); // <0x00>
  });

  it("encodes a 1 MB line and stops once 63 tokens are known", () => {
    const line = "All human beings are born free and equal. ".repeat(25_000).slice(0, 1_000_000);
    const ids = tok.encode(line);
    expect(ids[63]).toBe(tok.eosId);
    expect(Array.from(ids.slice(0, 63))).toEqual(tok.tokenize(line.slice(0, 2000)).slice(0, 63));
  });

  it("rejects text over the length limit with TEXT_TOO_LONG", () => {
    const small = Tokenizer.fromBinary(sgtkBytes);
    small.maxTextLength = 10;
    expect(codeOf(() => small.encode("x".repeat(11)))).toBe("TEXT_TOO_LONG");
    expect(Array.from(small.encode("x".repeat(10)))).toContain(small.eosId);
  });

  it("rejects non-strings with TEXT_INVALID", () => {
    expect(codeOf(() => tok.encode(42 as unknown as string))).toBe("TEXT_INVALID");
  });
});

describe("vocabulary files", () => {
  it("round-trips SGTK byte for byte", () => {
    expect(Buffer.from(Tokenizer.fromBinary(sgtkBytes).toBinary()).equals(Buffer.from(sgtkBytes))).toBe(true);
  });

  it("loads SGTK from an unaligned buffer, plain or a Node Buffer view", () => {
    const shifted = new Uint8Array(sgtkBytes.length + 1);
    shifted.set(sgtkBytes, 1);
    for (const input of [shifted.subarray(1), Buffer.from(shifted.buffer, 1, sgtkBytes.length)]) {
      const t = Tokenizer.fromBinary(input);
      expect(Array.from(t.encode("a photo of a cat"))).toEqual(Array.from(tok.encode("a photo of a cat")));
    }
  });

  it("rejects truncated, corrupted or foreign files with typed errors", () => {
    expect(codeOf(() => Tokenizer.fromBinary(sgtkBytes.subarray(0, 1000)))).toBe("VOCAB_FORMAT_INVALID");
    expect(codeOf(() => Tokenizer.fromBinary(sgtkBytes.subarray(0, sgtkBytes.length - 5)))).toBe("VOCAB_FORMAT_INVALID");
    const bad = sgtkBytes.slice();
    bad[0] = 0;
    expect(codeOf(() => Tokenizer.fromBinary(bad))).toBe("VOCAB_FORMAT_INVALID");
    // Fill the pair table with out-of-range entries: caught at load, not by an endless probe later.
    const header = JSON.parse(new TextDecoder().decode(sgtkBytes.subarray(12, 12 + new DataView(sgtkBytes.buffer, sgtkBytes.byteOffset).getUint32(8, true)))) as {
      sections: { name: string; offset: number; length: number }[];
    };
    const pairs = header.sections.find((s) => s.name === "pairHash");
    expect(pairs?.length).toBeGreaterThan(0);
    const corrupt = sgtkBytes.slice();
    new Int32Array(corrupt.buffer, pairs!.offset, pairs!.length).fill(0x7fffffff);
    expect(codeOf(() => Tokenizer.fromBinary(corrupt))).toBe("VOCAB_FORMAT_INVALID");
    expect(codeOf(() => Tokenizer.fromBytes(new TextEncoder().encode("{not json")))).toBe("TOKENIZER_LOAD_FAILED");
    expect(codeOf(() => Tokenizer.fromBytes(new Uint8Array([0xff, 0xfe, 0x00])))).toBe("TOKENIZER_LOAD_FAILED");
    expect(codeOf(() => Tokenizer.fromTokenizerJson({ model: { type: "Unigram", vocab: [] } }))).toBe("VOCAB_FORMAT_INVALID");
    expect(codeOf(() => Tokenizer.fromTokenizerJson({ model: { type: "BPE", vocab: { a: 0 }, merges: ["a b"] } }))).toBe("VOCAB_FORMAT_INVALID");
  });

  it("decodes ids back to text", () => {
    const text = "a photo of a café 🐱";
    expect(tok.decode(tok.tokenize(text, "none"))).toBe(text);
    expect(tok.decode(tok.encode(text, { lowercase: "none" }), { skipSpecialTokens: true })).toBe(text);
  });
});
