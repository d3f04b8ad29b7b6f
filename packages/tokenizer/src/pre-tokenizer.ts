/**
 * `tokenizers` pre-tokenisers with literal patterns (`Split`, `Sequence`). SigLIP 2 checkpoints use
 * `Split(" ", merged_with_previous)` after a normaliser that has already turned every " " into "▁", so in practice
 * the whole text is one word; the general behaviours are implemented so other configurations stay correct.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

export type PreTokenize = (text: string) => string[];

function bad(what: string): never {
  throw new SiglipError("VOCAB_FORMAT_INVALID", `tokenizer.json: unsupported pre_tokenizer ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Splits on a literal delimiter with one of the `SplitDelimiterBehavior`s of `tokenizers`. */
function splitLiteral(text: string, delim: string, behavior: string): string[] {
  const pieces: { s: string; match: boolean }[] = [];
  let at = 0;
  for (let i = text.indexOf(delim); i !== -1; i = text.indexOf(delim, at)) {
    if (i > at) pieces.push({ s: text.slice(at, i), match: false });
    pieces.push({ s: delim, match: true });
    at = i + delim.length;
  }
  if (at < text.length) pieces.push({ s: text.slice(at), match: false });
  const out: string[] = [];
  switch (behavior) {
    case "Removed":
      for (const p of pieces) if (!p.match) out.push(p.s);
      return out;
    case "Isolated":
      return pieces.map((p) => p.s);
    case "MergedWithPrevious": {
      // A delimiter joins the piece before it unless that piece was itself a delimiter (tokenizers' fold).
      let previousMatch = false;
      for (const p of pieces) {
        if (p.match && !previousMatch && out.length > 0) out[out.length - 1] += p.s;
        else out.push(p.s);
        previousMatch = p.match;
      }
      return out;
    }
    case "MergedWithNext": {
      // The mirror image: fold from the right.
      let previousMatch = false;
      for (let i = pieces.length - 1; i >= 0; i--) {
        const p = pieces[i] as { s: string; match: boolean };
        if (p.match && !previousMatch && out.length > 0) out[out.length - 1] = p.s + (out[out.length - 1] as string);
        else out.push(p.s);
        previousMatch = p.match;
      }
      return out.reverse();
    }
    case "Contiguous": {
      let lastWasMatch = false;
      for (const p of pieces) {
        if (p.match && lastWasMatch) out[out.length - 1] += p.s;
        else out.push(p.s);
        lastWasMatch = p.match;
      }
      return out;
    }
    default:
      return bad(`Split behavior ${behavior}`);
  }
}

export function compilePreTokenizer(spec: unknown): PreTokenize | null {
  if (spec === null || spec === undefined) return null;
  if (!isRecord(spec)) return bad(JSON.stringify(spec));
  switch (spec["type"]) {
    case "Sequence": {
      const parts = spec["pretokenizers"];
      if (!Array.isArray(parts)) return bad("Sequence without pretokenizers");
      const fns = parts.map(compilePreTokenizer).filter((f): f is PreTokenize => f !== null);
      return (t) => fns.reduce<string[]>((words, f) => words.flatMap(f), [t]);
    }
    case "Split": {
      const pattern = spec["pattern"];
      if (!isRecord(pattern) || typeof pattern["String"] !== "string" || pattern["String"] === "") {
        return bad("Split with a regex pattern");
      }
      if (spec["invert"] === true) return bad("Split with invert");
      const delim = pattern["String"];
      const behavior = String(spec["behavior"]);
      return (t) => (t.includes(delim) ? splitLiteral(t, delim, behavior) : [t]);
    }
    default:
      return bad(String(spec["type"]));
  }
}
