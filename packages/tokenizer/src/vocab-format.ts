/**
 * The compact binary vocabulary ("SGTK") for the edge: everything the encoder needs from a `tokenizer.json`, as
 * typed arrays that load as zero-copy views (no JSON parse of 17 MB, no per-token strings on the heap).
 *
 * Layout (little-endian):
 *   0  "SGTK"            magic
 *   4  u32 version       1
 *   8  u32 headerLength  bytes of the UTF-8 JSON header that follows
 *  12  header            {config, sections: [{name, offset, length}]} (offsets from the file start, 8-aligned)
 *  ... sections          Int32Array / Uint32Array / Uint8Array data
 *
 * Sections: bmpIds[65536], astralCodes[A], astralIds[A], byteIds[256], mergeA/B/New[R], pairHash[2^k],
 * tokenOffsets[V+1] (u32) and tokenBytes (UTF-8), the last two only used by `decode`.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { AddedToken } from "./added-tokens.ts";
import { pairSlot, type BpeTables } from "./bpe.ts";

export const SGTK_VERSION = 1;
const MAGIC = 0x4b544753; // "SGTK" read as little-endian u32

/** Everything except the big tables; stored as the JSON header. */
export interface VocabConfig {
  normalizer: unknown;
  preTokenizer: unknown;
  decoder: unknown;
  addedTokens: AddedToken[];
  unkId: number;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
  vocabSize: number;
  /**
   * True when no token holds a "▁" right after another character. Then BPE never merges across the start of a
   * "▁" run, so a word can be encoded chunk by chunk (split before each such run) with identical ids, which allows a
   * per-chunk cache and stopping once enough tokens exist. Gemma's vocabulary has this property; it is checked.
   */
  chunkAtSpaces: boolean;
  padId: number;
  eosId: number;
}

export interface CompiledVocab extends BpeTables {
  readonly config: VocabConfig;
  readonly tokenOffsets: Uint32Array;
  readonly tokenBytes: Uint8Array;
}

function invalid(msg: string): never {
  throw new SiglipError("VOCAB_FORMAT_INVALID", msg);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function tokenId(added: AddedToken[], content: string, fallback: number): number {
  return added.find((t) => t.content === content)?.id ?? fallback;
}

/**
 * Compiles a parsed `tokenizer.json` (a `BPE` model, as every SigLIP 2 / Gemma checkpoint ships) into tables.
 */
export function compileTokenizerJson(json: unknown): CompiledVocab {
  if (!isRecord(json)) invalid("tokenizer.json is not a JSON object");
  const model = json["model"];
  if (!isRecord(model)) invalid("tokenizer.json has no model");
  if (model["type"] !== "BPE") invalid(`tokenizer.json model type ${String(model["type"])} is not BPE`);
  if (model["continuing_subword_prefix"] || model["end_of_word_suffix"]) {
    invalid("BPE continuing_subword_prefix / end_of_word_suffix are not supported");
  }
  if (typeof model["dropout"] === "number" && model["dropout"] > 0) invalid("BPE dropout is not supported");
  const vocabObj = model["vocab"];
  const merges = model["merges"];
  if (!isRecord(vocabObj) || !Array.isArray(merges)) invalid("BPE model needs vocab and merges");

  const vocab = new Map<string, number>();
  let maxId = -1;
  for (const [tok, id] of Object.entries(vocabObj)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) invalid(`bad id for token ${JSON.stringify(tok)}`);
    vocab.set(tok, id);
    if (id > maxId) maxId = id;
  }
  const addedRaw = Array.isArray(json["added_tokens"]) ? json["added_tokens"] : [];
  const addedTokens: AddedToken[] = addedRaw.filter(isRecord).map((t) => ({
    id: Number(t["id"]),
    content: String(t["content"]),
    special: t["special"] === true,
    normalized: t["normalized"] === true,
    lstrip: t["lstrip"] === true,
    rstrip: t["rstrip"] === true,
    singleWord: t["single_word"] === true,
  }));
  for (const t of addedTokens) maxId = Math.max(maxId, t.id);
  const vocabSize = maxId + 1;

  // Strings by id, for decode.
  const strings: string[] = new Array<string>(vocabSize).fill("");
  for (const [tok, id] of vocab) strings[id] = tok;
  for (const t of addedTokens) strings[t.id] = t.content;
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(s));
  const tokenOffsets = new Uint32Array(vocabSize + 1);
  for (let i = 0; i < vocabSize; i++) tokenOffsets[i + 1] = (tokenOffsets[i] as number) + (encoded[i] as Uint8Array).length;
  const tokenBytes = new Uint8Array(tokenOffsets[vocabSize] as number);
  encoded.forEach((b, i) => tokenBytes.set(b, tokenOffsets[i] as number));

  // One-character tokens.
  const bmpIds = new Int32Array(65536).fill(-1);
  const astral: [number, number][] = [];
  for (const [tok, id] of vocab) {
    const cp = tok.codePointAt(0);
    if (cp === undefined || tok.length !== (cp > 0xffff ? 2 : 1)) continue;
    if (cp < 0x10000) bmpIds[cp] = id;
    else astral.push([cp, id]);
  }
  astral.sort((a, b) => a[0] - b[0]);
  const byteIds = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) {
    const id = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    if (id !== undefined) byteIds[b] = id;
  }

  // Merges: the later of two identical pairs wins, as when the reference collects them into a HashMap.
  const R = merges.length;
  const mergeA = new Int32Array(R);
  const mergeB = new Int32Array(R);
  const mergeNew = new Int32Array(R);
  let cap = 1;
  while (cap < R * 1.8) cap *= 2;
  const pairHash = new Int32Array(cap);
  const mask = cap - 1;
  for (let r = 0; r < R; r++) {
    const m = merges[r];
    let left: string | undefined;
    let right: string | undefined;
    if (typeof m === "string") {
      const parts = m.split(" ");
      if (parts.length === 2) [left, right] = parts;
    } else if (Array.isArray(m) && m.length === 2) {
      [left, right] = [String(m[0]), String(m[1])];
    }
    if (left === undefined || right === undefined) invalid(`merge ${r} is malformed: ${JSON.stringify(m)}`);
    const a = vocab.get(left);
    const b = vocab.get(right);
    const n = vocab.get(left + right);
    if (a === undefined || b === undefined || n === undefined) {
      invalid(`merge ${r} (${JSON.stringify(left)} ${JSON.stringify(right)}) uses a token missing from the vocab`);
    }
    mergeA[r] = a;
    mergeB[r] = b;
    mergeNew[r] = n;
    let slot = pairSlot(a, b, mask);
    for (;;) {
      const entry = pairHash[slot] as number;
      if (entry === 0) {
        pairHash[slot] = r + 1;
        break;
      }
      if (mergeA[entry - 1] === a && mergeB[entry - 1] === b) {
        pairHash[slot] = r + 1; // duplicate pair: the later rank replaces the earlier one
        break;
      }
      slot = (slot + 1) & mask;
    }
  }

  const unkToken = model["unk_token"];
  const unkId = typeof unkToken === "string" ? (vocab.get(unkToken) ?? -1) : -1;
  const config: VocabConfig = {
    normalizer: json["normalizer"] ?? null,
    preTokenizer: json["pre_tokenizer"] ?? null,
    decoder: json["decoder"] ?? null,
    addedTokens,
    unkId,
    fuseUnk: model["fuse_unk"] === true,
    byteFallback: model["byte_fallback"] === true,
    ignoreMerges: model["ignore_merges"] === true,
    vocabSize,
    chunkAtSpaces: ![...vocab.keys()].some((tok) => /[^\u2581]\u2581/.test(tok)),
    padId: tokenId(addedTokens, "<pad>", vocab.get("<pad>") ?? 0),
    eosId: tokenId(addedTokens, "<eos>", vocab.get("<eos>") ?? 1),
  };
  return {
    config,
    bmpIds,
    astralCodes: Int32Array.from(astral, (p) => p[0]),
    astralIds: Int32Array.from(astral, (p) => p[1]),
    byteIds,
    mergeA,
    mergeB,
    mergeNew,
    pairHash,
    unkId,
    fuseUnk: config.fuseUnk,
    byteFallback: config.byteFallback,
    tokenOffsets,
    tokenBytes,
  };
}

const SECTIONS = [
  ["bmpIds", "i32"],
  ["astralCodes", "i32"],
  ["astralIds", "i32"],
  ["byteIds", "i32"],
  ["mergeA", "i32"],
  ["mergeB", "i32"],
  ["mergeNew", "i32"],
  ["pairHash", "i32"],
  ["tokenOffsets", "u32"],
  ["tokenBytes", "u8"],
] as const;

type SectionName = (typeof SECTIONS)[number][0];

const align8 = (n: number) => (n + 7) & ~7;

/** Serialises compiled tables to the SGTK format. */
export function serializeVocab(v: CompiledVocab): Uint8Array {
  const headerFor = (offsets: number[]) =>
    new TextEncoder().encode(
      JSON.stringify({
        config: v.config,
        sections: SECTIONS.map(([name], i) => ({ name, offset: offsets[i] ?? 0, length: v[name].length })),
      }),
    );
  // Two passes: the header's length fixes the first section's offset (offsets are padded digits-stable below).
  let offsets = SECTIONS.map(() => 0);
  let header = headerFor(offsets);
  for (let pass = 0; pass < 3; pass++) {
    let at = align8(12 + header.length + 64); // slack so the header may grow as offsets gain digits
    offsets = SECTIONS.map(([name]) => {
      const o = at;
      at = align8(at + v[name].byteLength);
      return o;
    });
    header = headerFor(offsets);
  }
  if (12 + header.length > (offsets[0] as number)) throw new SiglipError("INTERNAL", "SGTK header outgrew its slot");
  const total = (offsets[offsets.length - 1] ?? 0) + v.tokenBytes.byteLength;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, SGTK_VERSION, true);
  dv.setUint32(8, header.length, true);
  out.set(header, 12);
  SECTIONS.forEach(([name], i) => {
    const arr = v[name];
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), offsets[i] as number);
  });
  return out;
}

/** True when `bytes` start with the SGTK magic. */
export function isSgtk(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && new DataView(bytes.buffer, bytes.byteOffset, 12).getUint32(0, true) === MAGIC;
}

/** Reads an SGTK file; the tables are views on `bytes` (copied once only if misaligned). */
export function parseVocab(input: Uint8Array): CompiledVocab {
  if (!isSgtk(input)) invalid("not an SGTK vocabulary (bad magic)");
  // A copy (not `slice`, which is a view for Node Buffers) when the input is not 8-aligned.
  const bytes = input.byteOffset % 8 === 0 ? input : new Uint8Array(input);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== SGTK_VERSION) invalid(`SGTK version ${version} is not supported (expected ${SGTK_VERSION})`);
  const headerLength = dv.getUint32(8, true);
  if (12 + headerLength > bytes.length) invalid("SGTK header is truncated");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (cause) {
    throw new SiglipError("VOCAB_FORMAT_INVALID", "SGTK header is not valid JSON", { cause });
  }
  if (!isRecord(header) || !isRecord(header["config"]) || !Array.isArray(header["sections"])) invalid("SGTK header is malformed");
  const sections = new Map<string, { offset: number; length: number }>();
  for (const s of header["sections"]) {
    if (isRecord(s)) sections.set(String(s["name"]), { offset: Number(s["offset"]), length: Number(s["length"]) });
  }
  const view = (name: SectionName, kind: "i32" | "u32" | "u8") => {
    const s = sections.get(name);
    const width = kind === "u8" ? 1 : 4;
    if (s === undefined || !Number.isInteger(s.offset) || !Number.isInteger(s.length) || s.offset % width !== 0 || s.offset < 0 || s.length < 0 || s.offset + s.length * width > bytes.length) {
      invalid(`SGTK section ${name} is missing or out of bounds`);
    }
    const o = bytes.byteOffset + s.offset;
    return kind === "i32" ? new Int32Array(bytes.buffer, o, s.length) : kind === "u32" ? new Uint32Array(bytes.buffer, o, s.length) : new Uint8Array(bytes.buffer, o, s.length);
  };
  const config = header["config"] as unknown as VocabConfig;
  const v = {
    config,
    bmpIds: view("bmpIds", "i32") as Int32Array,
    astralCodes: view("astralCodes", "i32") as Int32Array,
    astralIds: view("astralIds", "i32") as Int32Array,
    byteIds: view("byteIds", "i32") as Int32Array,
    mergeA: view("mergeA", "i32") as Int32Array,
    mergeB: view("mergeB", "i32") as Int32Array,
    mergeNew: view("mergeNew", "i32") as Int32Array,
    pairHash: view("pairHash", "i32") as Int32Array,
    tokenOffsets: view("tokenOffsets", "u32") as Uint32Array,
    tokenBytes: view("tokenBytes", "u8") as Uint8Array,
    unkId: Number(config.unkId),
    fuseUnk: config.fuseUnk === true,
    byteFallback: config.byteFallback === true,
  };
  const R = v.mergeA.length;
  const ph = v.pairHash.length;
  if (v.bmpIds.length !== 65536 || v.byteIds.length !== 256 || v.mergeB.length !== R || v.mergeNew.length !== R || ph === 0 || (ph & (ph - 1)) !== 0 || v.tokenOffsets.length !== config.vocabSize + 1) {
    invalid("SGTK tables have inconsistent sizes");
  }
  // Range checks, so a corrupted file fails here instead of looping or indexing out of bounds later.
  const V = config.vocabSize;
  const inVocab = (arr: Int32Array, allowMissing: boolean): boolean => {
    for (let i = 0; i < arr.length; i++) {
      const id = arr[i] as number;
      if (id >= V || id < (allowMissing ? -1 : 0)) return false;
    }
    return true;
  };
  let empty = 0;
  const hash = v.pairHash;
  for (let i = 0; i < hash.length; i++) {
    const e = hash[i] as number;
    if (e === 0) empty++;
    else if (e < 0 || e > R) invalid("SGTK pair table points outside the merges");
  }
  if (empty === 0 || !inVocab(v.bmpIds, true) || !inVocab(v.astralIds, false) || !inVocab(v.byteIds, true) || !inVocab(v.mergeA, false) || !inVocab(v.mergeB, false) || !inVocab(v.mergeNew, false) || (v.unkId !== -1 && !(v.unkId >= 0 && v.unkId < V))) {
    invalid("SGTK tables hold ids outside the vocabulary");
  }
  if ((v.tokenOffsets[V] as number) !== v.tokenBytes.length) invalid("SGTK token strings are truncated");
  return v;
}
