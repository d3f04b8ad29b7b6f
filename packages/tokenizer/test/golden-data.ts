/** Reads the committed goldens written by tools/reference/tokenizer_goldens.py. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { LowercaseMode } from "../src/index.ts";

export const GOLDEN_DIR = fileURLToPath(new URL("../../../fixtures/goldens/tokenizer/", import.meta.url));

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
  /** The reference's 64 ids per lowercase mode. */
  ids: Record<LowercaseMode, number[]>;
}

function pad(ids: number[]): number[] {
  return [...ids, ...new Array<number>(64 - ids.length).fill(0)];
}

export function readGoldens(name: "udhr" | "edge"): GoldenText[] {
  const lines = gunzipSync(readFileSync(`${GOLDEN_DIR}${name}.jsonl.gz`)).toString("utf8").trim().split("\n");
  return lines.map((line) => {
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
