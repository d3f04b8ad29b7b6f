/** `siglip vocab [TOKENIZER_JSON] --out FILE.sgtk`: compile a tokenizer.json to the compact edge vocabulary. */
import { writeFile } from "node:fs/promises";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";

export const command: Command = {
  summary: "compile a tokenizer.json into the compact SGTK vocabulary used at the edge",
  usage: `siglip vocab [TOKENIZER_JSON] --out FILE.sgtk
  Default input: the Gemma 256k development vocabulary.`,
  async run(argv, io) {
    const args = parseArgs(argv, { out: { type: "string" } });
    const out = stringFlag(args, "out");
    if (out === undefined) throw new UsageError("--out is required");
    if (args.positionals.length > 1) throw new UsageError("give at most one tokenizer.json");
    const input = args.positionals[0] ?? devTokenizerJsonPath();
    const bytes = (await loadTokenizer(input, { cacheDir: null })).toBinary();
    await writeFile(out, bytes);
    await write(io.stdout, `${out}: ${bytes.length} bytes\n`);
    return 0;
  },
};
