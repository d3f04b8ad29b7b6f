/** A minimal Worker holding the compact vocabulary: POST text -> 64 ids, as an edge deployment would. */
import { Tokenizer } from "../src/index.ts";
import sgtk from "./.generated/gemma.sgtk";

let tok: Tokenizer | undefined;

export default {
  async fetch(req: Request): Promise<Response> {
    tok ??= Tokenizer.fromBinary(new Uint8Array(sgtk));
    const text = await req.text();
    return Response.json(Array.from(tok.encode(text, { lowercase: "none" })));
  },
};
