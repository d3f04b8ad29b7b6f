import { describe, expect, it } from "vitest";
import { compilePreTokenizer } from "../src/pre-tokenizer.ts";

// Expected splits worked out by hand from the SplitDelimiterBehavior definitions in Hugging Face tokenizers
// (its docs use "the-final--countdown" with "-").
describe("Split pre-tokenizer", () => {
  const split = (behavior: string) => compilePreTokenizer({ type: "Split", pattern: { String: "-" }, behavior, invert: false });
  const text = "the-final--countdown";
  it.each([
    ["Removed", ["the", "final", "countdown"]],
    ["Isolated", ["the", "-", "final", "-", "-", "countdown"]],
    ["MergedWithPrevious", ["the-", "final-", "-", "countdown"]],
    ["MergedWithNext", ["the", "-final", "-", "-countdown"]],
    ["Contiguous", ["the", "-", "final", "--", "countdown"]],
  ])("%s", (behavior, expected) => {
    expect(split(behavior)?.(text)).toEqual(expected);
  });
});
