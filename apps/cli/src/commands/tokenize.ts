/**
 * `siglip tokenize`: UTF-8 text on stdin, one text per line, to one JSON array of 64 ids per line on stdout.
 * Lines are split on "\n" (a trailing "\r" is dropped); invalid UTF-8 bytes become U+FFFD (WHATWG decoding).
 */
import { DEFAULT_LOWERCASE, LOWERCASE_MODES, type LowercaseMode } from "@siglip-edge/tokenizer";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { intFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";

const USAGE = `siglip tokenize [--tokenizer PATH] [--lowercase none|ascii|unicode] [--max-length 64]
  Reads UTF-8 text from stdin, one text per line; writes one JSON array of token ids per line.
  --tokenizer   tokenizer.json or compact .sgtk file (default: the Gemma 256k development vocabulary)
  --lowercase   ${LOWERCASE_MODES.join(" | ")} (default ${DEFAULT_LOWERCASE}: what SigLIP 2 was trained on; none = transformers 4.x)
  --max-length  ids per text (default 64)`;

export const command: Command = {
  summary: "text (stdin, one per line) to SigLIP 2 token ids",
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, {
      tokenizer: { type: "string" },
      lowercase: { type: "string", choices: LOWERCASE_MODES },
      "max-length": { type: "string" },
    });
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}" (text comes from stdin)`);
    const lowercase = (stringFlag(args, "lowercase") ?? DEFAULT_LOWERCASE) as LowercaseMode;
    const maxLength = intFlag(args, "max-length", 64, 4096);
    const path = stringFlag(args, "tokenizer") ?? devTokenizerJsonPath();
    const tok = await loadTokenizer(path, { cacheDir: io.env["SIGLIP_NO_CACHE"] ? null : undefined });

    const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
    let pending = "";
    const emit = async (line: string) => {
      const text = line.endsWith("\r") ? line.slice(0, -1) : line;
      await write(io.stdout, `[${tok.encode(text, { lowercase, maxLength }).join(",")}]\n`);
    };
    for await (const chunk of io.stdin) {
      pending += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl = pending.indexOf("\n");
      while (nl !== -1) {
        await emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
    }
    pending += decoder.decode();
    if (pending.length > 0) await emit(pending);
    return 0;
  },
};
