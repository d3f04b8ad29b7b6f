/** Runs in Node before the workerd suite: compiles the development vocabulary to SGTK for the test Worker. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "../src/index.ts";
import { devTokenizerJsonPath } from "../src/node/index.ts";

export default function setup(): void {
  const dir = fileURLToPath(new URL("./.generated/", import.meta.url));
  const out = `${dir}gemma.sgtk`;
  if (existsSync(out)) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(out, Tokenizer.fromTokenizerJson(readFileSync(devTokenizerJsonPath(), "utf8")).toBinary());
}
