/**
 * Lowercasing modes. SigLIP 2 was trained on lowercased text (big_vision `tf.strings.lower`, ASCII only);
 * transformers 5's `Siglip2Tokenizer` lowercases every code point (`tokenizers` `Lowercase`, Rust
 * `char::to_lowercase`: no context rules, so a final capital sigma becomes "σ", never "ς"); transformers 4's
 * `GemmaTokenizerFast` does not lowercase at all.
 * @module
 */

export type LowercaseMode = "none" | "ascii" | "unicode";

export const LOWERCASE_MODES: readonly LowercaseMode[] = ["none", "ascii", "unicode"];

/** The default: what the released checkpoints saw in training (big_vision lowercases A-Z only). */
export const DEFAULT_LOWERCASE: LowercaseMode = "ascii";

/** Lowers A-Z only. */
export function lowerAscii(text: string): string {
  // Fast exit: most prompts are already lowercase.
  if (!/[A-Z]/.test(text)) return text;
  return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

const unicodeCache = new Map<number, string>();

/** Lowers each code point on its own, like Rust's `char::to_lowercase` (no final-sigma or locale rules). */
export function lowerUnicode(text: string): string {
  let out = "";
  let start = 0; // start of the pending run of code points that lowercase to themselves
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x41 && c <= 0x5a) {
        out += text.slice(start, i) + String.fromCharCode(c + 32);
        start = i + 1;
      }
      continue;
    }
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    let lower = unicodeCache.get(cp);
    if (lower === undefined) {
      const ch = String.fromCodePoint(cp);
      lower = ch.toLowerCase();
      if (unicodeCache.size < 65536) unicodeCache.set(cp, lower);
    }
    if (lower.length !== width || lower !== text.slice(i, i + width)) {
      out += text.slice(start, i) + lower;
      start = i + width;
    }
    i += width - 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

export function applyLowercase(text: string, mode: LowercaseMode): string {
  switch (mode) {
    case "none":
      return text;
    case "ascii":
      return lowerAscii(text);
    case "unicode":
      return lowerUnicode(text);
  }
}
