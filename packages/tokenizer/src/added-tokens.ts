/**
 * Added tokens (`<pad>`, `<eos>`, ...) are matched in the text before the model runs, leftmost-longest, as
 * `tokenizers`' `AddedVocabulary` does: tokens with `normalized: false` on the raw text, the others on each
 * normalised piece. A literal "<eos>" typed by a user therefore encodes to the `<eos>` id, exactly as in the
 * reference.
 * @module
 */

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** A piece of input: either text still to tokenize, or the id of a matched added token. */
export type Piece = { text: string; id?: undefined } | { text?: undefined; id: number };

const WHITESPACE = /\p{White_Space}/u;
const WORD_CHAR = /[\p{L}\p{N}_]/u;

export class AddedTokenMatcher {
  private readonly byFirst = new Map<string, AddedToken[]>();
  private readonly firsts: string[];

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      if (t.content.length === 0) continue;
      const first = t.content[0] as string;
      const list = this.byFirst.get(first) ?? [];
      list.push(t);
      this.byFirst.set(first, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
    this.firsts = [...this.byFirst.keys()];
  }

  /** Next index >= `from` where some token's first character occurs, or -1. */
  private nextCandidate(text: string, from: number): number {
    let best = -1;
    for (const f of this.firsts) {
      const at = text.indexOf(f, from);
      if (at !== -1 && (best === -1 || at < best)) best = at;
    }
    return best;
  }

  get empty(): boolean {
    return this.byFirst.size === 0;
  }

  /** Splits `text` into plain pieces and matched tokens. */
  split(text: string): Piece[] {
    if (this.empty) return [{ text }];
    const out: Piece[] = [];
    let from = 0; // start of the pending plain text
    let i = this.nextCandidate(text, 0);
    while (i !== -1) {
      const candidates = this.byFirst.get(text[i] as string);
      const tok = candidates?.find((t) => text.startsWith(t.content, i) && this.wordOk(t, text, i));
      if (tok === undefined) {
        i = this.nextCandidate(text, i + 1);
        continue;
      }
      let start = i;
      let stop = i + tok.content.length;
      if (tok.lstrip) while (start > from && WHITESPACE.test(text[start - 1] as string)) start--;
      if (tok.rstrip) while (stop < text.length && WHITESPACE.test(text[stop] as string)) stop++;
      if (start > from) out.push({ text: text.slice(from, start) });
      out.push({ id: tok.id });
      from = stop;
      i = this.nextCandidate(text, stop);
    }
    if (from < text.length) out.push({ text: text.slice(from) });
    return out;
  }

  private wordOk(t: AddedToken, text: string, at: number): boolean {
    if (!t.singleWord) return true;
    const before = at > 0 ? text[at - 1] : undefined;
    const after = text[at + t.content.length];
    return !(before !== undefined && WORD_CHAR.test(before)) && !(after !== undefined && WORD_CHAR.test(after));
  }
}
