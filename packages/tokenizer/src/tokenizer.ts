/**
 * SigLIP 2 text encoding (siglip2-spec §8.1): Gemma SentencePiece-BPE with byte fallback, no BOS, `<eos>` appended
 * and kept under truncation ("sticky"), right padding with `<pad>` (0) to exactly 64 ids, no attention mask.
 * Works in Workers, Node and browsers: no filesystem, no native code.
 * @module
 */
import { SiglipError, TEXT_LENGTH } from "@siglip-edge/core";
import { AddedTokenMatcher } from "./added-tokens.ts";
import { bpeEncodeWord } from "./bpe.ts";
import { applyLowercase, DEFAULT_LOWERCASE, LOWERCASE_MODES, type LowercaseMode } from "./lowercase.ts";
import { compileNormalizer, type Normalize } from "./normalizer.ts";
import { compilePreTokenizer, type PreTokenize } from "./pre-tokenizer.ts";
import { compileTokenizerJson, isSgtk, parseVocab, serializeVocab, type CompiledVocab } from "./vocab-format.ts";

export interface EncodeOptions {
  /** Default `"ascii"` (what the checkpoints were trained on); `"none"` = transformers 4.x parity. */
  lowercase?: LowercaseMode;
  /** Output length, default 64 (SigLIP 2's text positions). */
  maxLength?: number;
}

/**
 * Input text policy: lone UTF-16 surrogates (which no UTF-8 text can hold) become U+FFFD before encoding, as a
 * UTF-8 round trip would make them; every other string, including NUL and control characters, is encoded as is.
 * Text longer than `maxTextLength` UTF-16 units (default 1,048,576) is rejected with `TEXT_TOO_LONG`.
 */
export const DEFAULT_MAX_TEXT_LENGTH = 1 << 20;

export class Tokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  /** Longest accepted input, in UTF-16 code units. */
  maxTextLength = DEFAULT_MAX_TEXT_LENGTH;

  private readonly vocab: CompiledVocab;
  private readonly normalize: Normalize;
  private readonly preTokenize: PreTokenize | null;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  /**
   * Per-chunk id cache (see `VocabConfig.chunkAtSpaces`) in two generations: lookups check the young map, then the
   * old one (promoting hits); when the young map is full it becomes the old one. An LRU approximation whose memory
   * is bounded by 2 x CACHE_ENTRIES short entries (a few MB).
   */
  private young = new Map<string, number[]>();
  private old = new Map<string, number[]>();
  private static readonly CACHE_ENTRIES = 20000;
  private static readonly CACHE_CHUNK_CHARS = 64;

  private constructor(vocab: CompiledVocab) {
    this.vocab = vocab;
    const c = vocab.config;
    if (c.ignoreMerges) {
      throw new SiglipError("VOCAB_FORMAT_INVALID", "BPE ignore_merges is not supported (no SigLIP 2 vocabulary uses it)");
    }
    this.vocabSize = c.vocabSize;
    this.padId = c.padId;
    this.eosId = c.eosId;
    this.normalize = compileNormalizer(c.normalizer);
    this.preTokenize = compilePreTokenizer(c.preTokenizer);
    this.rawMatcher = new AddedTokenMatcher(c.addedTokens.filter((t) => !t.normalized));
    this.normalizedMatcher = new AddedTokenMatcher(c.addedTokens.filter((t) => t.normalized));
  }

  /** From the text or parsed object of a checkpoint's `tokenizer.json` (slow: parses ~17 MB; use SGTK at the edge). */
  static fromTokenizerJson(json: string | unknown): Tokenizer {
    let parsed = json;
    if (typeof json === "string") {
      try {
        parsed = JSON.parse(json);
      } catch (cause) {
        throw new SiglipError("TOKENIZER_LOAD_FAILED", "tokenizer.json is not valid JSON", { cause });
      }
    }
    return new Tokenizer(compileTokenizerJson(parsed));
  }

  /** From the compact SGTK bytes written by `toBinary()` (zero-copy views; fast, small heap). */
  static fromBinary(bytes: Uint8Array): Tokenizer {
    return new Tokenizer(parseVocab(bytes));
  }

  /** From either form, told apart by the SGTK magic. */
  static fromBytes(bytes: Uint8Array): Tokenizer {
    if (isSgtk(bytes)) return Tokenizer.fromBinary(bytes);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (cause) {
      throw new SiglipError("TOKENIZER_LOAD_FAILED", "tokenizer file is neither SGTK nor UTF-8 JSON", { cause });
    }
    return Tokenizer.fromTokenizerJson(text);
  }

  /** The SGTK form of this vocabulary. */
  toBinary(): Uint8Array {
    return serializeVocab(this.vocab);
  }

  /**
   * Token ids of `text` alone: no `<eos>`, no truncation, no padding. With `limit`, encoding may stop once at least
   * `limit` ids exist (the first `limit` ids are then exact; used by `encode`, which keeps at most 63).
   */
  tokenize(text: string, lowercase: LowercaseMode = DEFAULT_LOWERCASE, limit = Infinity): number[] {
    if (typeof text !== "string") throw new SiglipError("TEXT_INVALID", `text must be a string, got ${typeof text}`);
    if (!LOWERCASE_MODES.includes(lowercase)) {
      throw new SiglipError("INVALID_ARGUMENT", `lowercase must be one of ${LOWERCASE_MODES.join("|")}, got ${String(lowercase)}`);
    }
    if (text.length > this.maxTextLength) {
      throw new SiglipError("TEXT_TOO_LONG", `text has ${text.length} UTF-16 units, the limit is ${this.maxTextLength}`);
    }
    const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
    const ids: number[] = [];
    for (const piece of this.rawMatcher.split(wellFormed)) {
      if (ids.length >= limit) break;
      if (piece.id !== undefined) {
        ids.push(piece.id);
        continue;
      }
      // Lowercasing is a normaliser step, applied after raw added tokens are cut out (as in Siglip2Tokenizer).
      const normalized = this.normalize(applyLowercase(piece.text, lowercase));
      for (const sub of this.normalizedMatcher.split(normalized)) {
        if (ids.length >= limit) break;
        if (sub.id !== undefined) ids.push(sub.id);
        else this.encodeWords(sub.text, ids, limit);
      }
    }
    return ids;
  }

  private encodeWords(text: string, out: number[], limit: number): void {
    if (text.length === 0) return;
    const words = this.preTokenize === null ? [text] : this.preTokenize(text);
    for (const w of words) {
      if (out.length >= limit) return;
      if (w.length === 0) continue;
      if (!this.vocab.config.chunkAtSpaces) {
        bpeEncodeWord(this.vocab, w, out);
        continue;
      }
      // Chunks start where a "▁" run follows another character.
      let start = 0;
      for (let i = 1; i <= w.length && out.length < limit; i++) {
        if (i < w.length && !(w.charCodeAt(i) === 0x2581 && w.charCodeAt(i - 1) !== 0x2581)) continue;
        this.encodeChunk(w.slice(start, i), out);
        start = i;
      }
    }
  }

  private encodeChunk(chunk: string, out: number[]): void {
    if (chunk.length > Tokenizer.CACHE_CHUNK_CHARS) {
      bpeEncodeWord(this.vocab, chunk, out);
      return;
    }
    let ids = this.young.get(chunk);
    if (ids === undefined) {
      ids = this.old.get(chunk);
      if (ids === undefined) {
        ids = [];
        bpeEncodeWord(this.vocab, chunk, ids);
      }
      if (this.young.size >= Tokenizer.CACHE_ENTRIES) {
        this.old = this.young;
        this.young = new Map();
      }
      this.young.set(chunk, ids);
    }
    for (const id of ids) out.push(id);
  }

  /**
   * SigLIP 2 model input for one text: exactly `maxLength` ids, `<eos>` last among the real tokens (kept when the
   * text is truncated), then `<pad>`.
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const maxLength = options.maxLength ?? TEXT_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new SiglipError("INVALID_ARGUMENT", `maxLength must be a positive integer, got ${maxLength}`);
    }
    const ids = this.tokenize(text, options.lowercase ?? DEFAULT_LOWERCASE, maxLength - 1);
    const out = new Int32Array(maxLength).fill(this.padId);
    const keep = Math.min(ids.length, maxLength - 1);
    for (let i = 0; i < keep; i++) out[i] = ids[i] as number;
    out[keep] = this.eosId;
    return out;
  }

  /**
   * Encodes a batch into one row-major buffer.
   * @returns ids [B, maxLength] int32
   */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): { ids: Int32Array; dims: [number, number] } {
    const L = options.maxLength ?? TEXT_LENGTH;
    const ids = new Int32Array(texts.length * L);
    texts.forEach((t, b) => ids.set(this.encode(t, options), b * L));
    return { ids, dims: [texts.length, L] };
  }

  /** Token strings back to text (Gemma decoder: "▁" -> " ", byte tokens fused into UTF-8). */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const special = new Set(this.vocab.config.addedTokens.filter((t) => t.special).map((t) => t.id));
    const bytes: number[] = [];
    const { tokenOffsets, tokenBytes } = this.vocab;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new SiglipError("INVALID_ARGUMENT", `token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (options.skipSpecialTokens && special.has(id)) continue;
      const s = tokenBytes.subarray(tokenOffsets[id] as number, tokenOffsets[id + 1] as number);
      // "<0xAB>" byte tokens are 6 ASCII bytes.
      if (s.length === 6 && s[0] === 0x3c && s[1] === 0x30 && s[2] === 0x78 && s[5] === 0x3e) {
        const hex = String.fromCharCode(s[3] as number, s[4] as number);
        if (/^[0-9A-F]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          continue;
        }
      }
      for (const b of s) bytes.push(b);
    }
    return new TextDecoder().decode(new Uint8Array(bytes)).replaceAll("\u2581", " ");
  }
}
