/** Reads the committed tokenizer goldens from disk (Node). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { parseGoldens, type GoldenText } from "./golden-records.ts";

export type { GoldenText } from "./golden-records.ts";
export { inputText } from "./golden-records.ts";

export const GOLDEN_DIR = fileURLToPath(new URL("../../../fixtures/goldens/tokenizer/", import.meta.url));

export function readGoldens(name: "udhr" | "edge"): GoldenText[] {
  return parseGoldens(gunzipSync(readFileSync(`${GOLDEN_DIR}${name}.jsonl.gz`)).toString("utf8"));
}
