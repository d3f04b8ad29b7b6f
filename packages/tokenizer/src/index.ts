export { Tokenizer, DEFAULT_MAX_TEXT_LENGTH, type EncodeOptions } from "./tokenizer.ts";
export { DEFAULT_LOWERCASE, LOWERCASE_MODES, applyLowercase, lowerAscii, lowerUnicode, type LowercaseMode } from "./lowercase.ts";
export { SGTK_VERSION, isSgtk } from "./vocab-format.ts";
