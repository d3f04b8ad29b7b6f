/**
 * Runs inside workerd: the SGTK vocabulary loads and encodes every golden text to the reference's ids (the same
 * goldens as the Node suite, decompressed with the Workers' DecompressionStream).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LOWERCASE_MODES, Tokenizer } from "../src/index.ts";
import { inputText, parseGoldens, type GoldenText } from "../test/golden-records.ts";
import edgeGz from "../../../fixtures/goldens/tokenizer/edge.jsonl.gz";
import udhrGz from "../../../fixtures/goldens/tokenizer/udhr.jsonl.gz";
import sgtk from "./.generated/gemma.sgtk";

async function goldens(gz: ArrayBuffer): Promise<GoldenText[]> {
  return parseGoldens(await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).text());
}

describe("tokenizer inside workerd", () => {
  const tok = Tokenizer.fromBinary(new Uint8Array(sgtk));

  it("matches the Hugging Face goldens in every lowercase mode", async () => {
    let total = 0;
    const bad: string[] = [];
    for (const gz of [udhrGz, edgeGz]) {
      for (const g of await goldens(gz)) {
        const text = inputText(g);
        for (const mode of LOWERCASE_MODES) {
          total++;
          if (Array.from(tok.encode(text, { lowercase: mode })).join(",") !== g.ids[mode].join(",")) bad.push(`${g.id} [${mode}]`);
        }
      }
    }
    console.log(`tokenizer parity inside workerd: ${total - bad.length}/${total} identical`);
    expect(bad).toEqual([]);
    expect(total).toBeGreaterThan(10_000);
  });

  it("serves ids from a Worker", async () => {
    const res = await SELF.fetch("http://tokenizer/", { method: "POST", body: "a photo of a cat" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(Array.from(tok.encode("a photo of a cat", { lowercase: "none" })));
  });
});
