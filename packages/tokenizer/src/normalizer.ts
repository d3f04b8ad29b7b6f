/**
 * The `tokenizers` normalisers a SigLIP 2 / Gemma `tokenizer.json` uses, compiled to string functions.
 * Unsupported normalisers are rejected when the vocabulary is built, never silently skipped.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { lowerUnicode } from "./lowercase.ts";

export type Normalize = (text: string) => string;

function bad(what: string): never {
  throw new SiglipError("VOCAB_FORMAT_INVALID", `tokenizer.json: unsupported normalizer ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Compiles a `tokenizer.json` `normalizer` object (or null) to a function. */
export function compileNormalizer(spec: unknown): Normalize {
  if (spec === null || spec === undefined) return (t) => t;
  if (!isRecord(spec)) return bad(JSON.stringify(spec));
  switch (spec["type"]) {
    case "Sequence": {
      const parts = spec["normalizers"];
      if (!Array.isArray(parts)) return bad("Sequence without normalizers");
      const fns = parts.map(compileNormalizer);
      return (t) => fns.reduce((acc, f) => f(acc), t);
    }
    case "Replace": {
      const pattern = spec["pattern"];
      const content = spec["content"];
      if (!isRecord(pattern) || typeof pattern["String"] !== "string" || typeof content !== "string") {
        return bad("Replace with a regex pattern");
      }
      const from = pattern["String"];
      if (from.length === 0) return bad("Replace with an empty pattern");
      return (t) => (t.includes(from) ? t.split(from).join(content) : t);
    }
    case "Lowercase":
      return lowerUnicode;
    case "Prepend": {
      const prepend = spec["prepend"];
      if (typeof prepend !== "string") return bad("Prepend without a string");
      return (t) => (t.length === 0 ? t : prepend + t);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = spec["type"];
      return (t) => t.normalize(form);
    }
    case "Strip": {
      const left = spec["strip_left"] !== false;
      const right = spec["strip_right"] !== false;
      return (t) => (left && right ? t.trim() : left ? t.trimStart() : right ? t.trimEnd() : t);
    }
    default:
      return bad(String(spec["type"]));
  }
}

/** True for the exact Gemma normaliser (`Replace(" " -> "▁")`), which the fast path inlines. */
export function isGemmaNormalizer(spec: unknown): boolean {
  return (
    isRecord(spec) &&
    spec["type"] === "Replace" &&
    isRecord(spec["pattern"]) &&
    spec["pattern"]["String"] === " " &&
    spec["content"] === "\u2581"
  );
}
