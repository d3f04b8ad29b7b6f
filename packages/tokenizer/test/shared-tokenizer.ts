/** The development Gemma vocabulary, compiled once per test file (JSON form) and round-tripped through SGTK. */
import { readFileSync } from "node:fs";
import { Tokenizer } from "../src/index.ts";
import { devTokenizerJsonPath } from "../src/node/index.ts";

let cached: { json: Tokenizer; sgtk: Tokenizer; sgtkBytes: Uint8Array } | undefined;

export function gemma(): { json: Tokenizer; sgtk: Tokenizer; sgtkBytes: Uint8Array } {
  if (cached === undefined) {
    const json = Tokenizer.fromTokenizerJson(readFileSync(devTokenizerJsonPath(), "utf8"));
    const sgtkBytes = json.toBinary();
    cached = { json, sgtk: Tokenizer.fromBinary(sgtkBytes), sgtkBytes };
  }
  return cached;
}
