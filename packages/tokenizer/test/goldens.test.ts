import { describe, expect, it } from "vitest";
import { LOWERCASE_MODES, type Tokenizer } from "../src/index.ts";
import { inputText, readGoldens, type GoldenText } from "./golden-data.ts";
import { gemma } from "./shared-tokenizer.ts";

function compare(tok: Tokenizer, goldens: GoldenText[]): { total: number; mismatches: string[] } {
  const mismatches: string[] = [];
  let total = 0;
  for (const g of goldens) {
    const text = inputText(g);
    for (const mode of LOWERCASE_MODES) {
      total++;
      const got = Array.from(tok.encode(text, { lowercase: mode }));
      if (got.join(",") !== g.ids[mode].join(",")) mismatches.push(`${g.id} [${mode}]`);
    }
  }
  return { total, mismatches };
}

describe("token ids equal the Hugging Face reference", () => {
  const { json, sgtk } = gemma();
  for (const set of ["udhr", "edge"] as const) {
    const goldens = readGoldens(set);
    for (const [form, tok] of [["tokenizer.json", json], ["SGTK", sgtk]] as const) {
      it(`${set}: ${goldens.length} texts x ${LOWERCASE_MODES.length} lowercase modes, ${form}`, () => {
        const { total, mismatches } = compare(tok, goldens);
        console.log(`tokenizer parity ${set} (${form}): ${total - mismatches.length}/${total} identical`);
        expect(mismatches).toEqual([]);
        expect(total).toBeGreaterThan(0);
      });
    }
  }

  it("covers every language version of the UDHR in the udhr package", () => {
    const langs = new Set(readGoldens("udhr").map((g) => g.id.split("/")[1]));
    console.log(`udhr goldens: ${langs.size} language versions`);
    expect(langs.size).toBeGreaterThanOrEqual(500);
  });
});
