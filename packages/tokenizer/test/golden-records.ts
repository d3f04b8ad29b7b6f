/** Parses the goldens written by tools/reference/tokenizer_goldens.py (pure: shared by the Node and workerd suites). */
import type { LowercaseMode } from "../src/index.ts";

interface RawRecord {
  id: string;
  text: string | { repeat: string; length: number };
  none: number[];
  ascii: number[] | "none";
  unicode: number[] | "none";
  utf8_bytes?: number[];
}

export interface GoldenText {
  id: string;
  text: string;
  /** The raw bytes fed to the reference's UTF-8 decoder, for the invalid-UTF-8 cases. */
  utf8Bytes?: Uint8Array;
  /** The reference's 64 ids per lowercase mode (stored without the trailing <pad> run). */
  ids: Record<LowercaseMode, number[]>;
}

function pad(ids: number[]): number[] {
  return [...ids, ...new Array<number>(64 - ids.length).fill(0)];
}

/** One record per JSON line; `text` of the 1 MB case is expanded from its repeat spec. */
export function parseGoldens(jsonl: string): GoldenText[] {
  return jsonl
    .trim()
    .split("\n")
    .map((line) => {
      const r = JSON.parse(line) as RawRecord;
      const text = typeof r.text === "string" ? r.text : r.text.repeat.repeat(Math.ceil(r.text.length / r.text.repeat.length)).slice(0, r.text.length);
      const mode = (m: number[] | "none") => pad(m === "none" ? r.none : m);
      return {
        id: r.id,
        text,
        ...(r.utf8_bytes ? { utf8Bytes: Uint8Array.from(r.utf8_bytes) } : {}),
        ids: { none: pad(r.none), ascii: mode(r.ascii), unicode: mode(r.unicode) },
      };
    });
}

/** The text the reference encoded: invalid-UTF-8 cases go through a WHATWG decoder first. */
export function inputText(g: GoldenText): string {
  return g.utf8Bytes ? new TextDecoder().decode(g.utf8Bytes) : g.text;
}
