/**
 * Runs inside workerd: the SGTK vocabulary loads and encodes every golden text to the reference's ids (the same
 * goldens as the Node suite, decompressed with the Workers' DecompressionStream).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LOWERCASE_MODES, Tokenizer } from "../src/index.ts";
import edgeGz from "../../../fixtures/goldens/tokenizer/edge.jsonl.gz";
import udhrGz from "../../../fixtures/goldens/tokenizer/udhr.jsonl.gz";
import sgtk from "./.generated/gemma.sgtk";

interface Rec {
  id: string;
  text: string | { repeat: string; length: number };
  none: number[];
  ascii: number[] | "none";
  unicode: number[] | "none";
  utf8_bytes?: number[];
}

async function records(gz: ArrayBuffer): Promise<Rec[]> {
  const text = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  return text.trim().split("\n").map((l) => JSON.parse(l) as Rec);
}

const pad = (ids: number[]) => [...ids, ...new Array<number>(64 - ids.length).fill(0)];

describe("tokenizer inside workerd", () => {
  const tok = Tokenizer.fromBinary(new Uint8Array(sgtk));

  it("matches the Hugging Face goldens in every lowercase mode", async () => {
    let total = 0;
    const bad: string[] = [];
    for (const gz of [udhrGz, edgeGz]) {
      for (const r of await records(gz)) {
        const text = r.utf8_bytes ? new TextDecoder().decode(Uint8Array.from(r.utf8_bytes)) : typeof r.text === "string" ? r.text : r.text.repeat.repeat(Math.ceil(r.text.length / r.text.repeat.length)).slice(0, r.text.length);
        for (const mode of LOWERCASE_MODES) {
          const want = pad(mode === "none" || r[mode] === "none" ? r.none : (r[mode] as number[]));
          total++;
          if (Array.from(tok.encode(text, { lowercase: mode })).join(",") !== want.join(",")) bad.push(`${r.id} [${mode}]`);
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
