/**
 * The byte-level-fallback BPE model of Hugging Face `tokenizers` (`models/bpe/{model,word}.rs`), on typed arrays.
 * A word starts as one symbol per Unicode scalar (or its UTF-8 bytes as `<0xXX>` tokens when the character is not in
 * the vocabulary); merges are then applied lowest rank first, ties broken by position, with the same stale-entry rule
 * as the reference (an entry is still valid when the pair at its position now maps to the same new id).
 * @module
 */

/** Tables of a compiled BPE model; see vocab-format.ts for how they are stored. */
export interface BpeTables {
  /** id of each BMP code point that is a one-character token, else -1. [65536] */
  readonly bmpIds: Int32Array;
  /** Sorted astral code points that are one-character tokens, and their ids. */
  readonly astralCodes: Int32Array;
  readonly astralIds: Int32Array;
  /** id of `<0xXX>` for each byte, else -1. [256] */
  readonly byteIds: Int32Array;
  /** Merge `rank` joins `mergeA[rank]` and `mergeB[rank]` into `mergeNew[rank]`. [R] each */
  readonly mergeA: Int32Array;
  readonly mergeB: Int32Array;
  readonly mergeNew: Int32Array;
  /** Open-addressing table (linear probing) of `rank + 1` keyed by the pair; 0 marks an empty slot. [2^k] */
  readonly pairHash: Int32Array;
  readonly unkId: number; // -1: no unknown token
  readonly fuseUnk: boolean;
  readonly byteFallback: boolean;
}

export function pairSlot(a: number, b: number, mask: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) & mask;
}

/** Rank of the merge of `a` then `b`, or -1. */
export function mergeRank(t: BpeTables, a: number, b: number): number {
  const mask = t.pairHash.length - 1;
  let slot = pairSlot(a, b, mask);
  for (;;) {
    const entry = t.pairHash[slot] as number;
    if (entry === 0) return -1;
    const rank = entry - 1;
    if (t.mergeA[rank] === a && t.mergeB[rank] === b) return rank;
    slot = (slot + 1) & mask;
  }
}

function charId(t: BpeTables, cp: number): number {
  if (cp < 0x10000) return t.bmpIds[cp] as number;
  const codes = t.astralCodes;
  let lo = 0;
  let hi = codes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = codes[mid] as number;
    if (v === cp) return t.astralIds[mid] as number;
    if (v < cp) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}


/** Reusable scratch space; grown on demand, never shrunk below the largest word seen (bounded by the caller). */
class Scratch {
  ids = new Int32Array(256);
  prev = new Int32Array(256);
  next = new Int32Array(256);
  ranks = new Int32Array(256);
  heap = new Float64Array(256);

  ensure(n: number): void {
    if (this.ids.length >= n) return;
    let cap = this.ids.length;
    while (cap < n) cap *= 2;
    const ids = new Int32Array(cap);
    ids.set(this.ids);
    this.ids = ids;
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.heap = new Float64Array(cap);
  }
}

const scratch = new Scratch();
const utf8Scratch: number[] = [];

function utf8Bytes(cp: number, out: number[]): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

/**
 * Encodes one pre-tokenized word (a well-formed string) and appends its ids to `out`.
 */
export function bpeEncodeWord(t: BpeTables, word: string, out: number[]): void {
  const s = scratch;
  // Upper bound on initial symbols: 4 byte tokens per UTF-16 unit.
  s.ensure(word.length * 4 + 1);
  const ids = s.ids;
  let n = 0;
  let unkPending = false; // an unknown-token run waiting to be emitted (fused when fuseUnk)
  const bytes = utf8Scratch;
  for (let i = 0; i < word.length; i++) {
    let cp = word.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < word.length) {
      const lo = word.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        i++;
      }
    }
    const id = charId(t, cp);
    if (id >= 0) {
      if (unkPending) {
        ids[n++] = t.unkId;
        unkPending = false;
      }
      ids[n++] = id;
      continue;
    }
    if (t.byteFallback) {
      bytes.length = 0;
      utf8Bytes(cp, bytes);
      if (bytes.every((b) => (t.byteIds[b] as number) >= 0)) {
        // The reference emits byte tokens without flushing a pending unknown first.
        for (const b of bytes) ids[n++] = t.byteIds[b] as number;
        continue;
      }
    }
    if (t.unkId >= 0) {
      if (unkPending && !t.fuseUnk) ids[n++] = t.unkId;
      unkPending = true;
    }
  }
  if (unkPending) ids[n++] = t.unkId;
  const count = mergeAll(t, n);
  for (let i = 0, p = 0; i < count; i++) {
    out.push(ids[p] as number);
    p = s.next[p] as number;
  }
}

/** Above this many symbols the heap is faster than rescanning the pairs after each merge. */
const SMALL_WORD = 48;

/**
 * Applies merges to scratch.ids[0..n) in place; returns the number of symbols left, linked from index 0 by `next`.
 */
function mergeAll(t: BpeTables, n: number): number {
  const { prev, next } = scratch;
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  return n <= SMALL_WORD ? mergeByScan(t, n) : mergeByHeap(t, n);
}

/**
 * Small words: keep the rank of each adjacent pair, merge the lowest (leftmost on ties), update the two
 * neighbouring ranks. This applies merges in the same order as the reference's heap: a heap entry can only stay valid
 * for the same new token if the pair itself is unchanged, so "lowest current rank, leftmost" is the same sequence.
 */
function mergeByScan(t: BpeTables, n: number): number {
  const { ids, prev, next, ranks } = scratch;
  for (let i = 0; i < n; i++) ranks[i] = i + 1 < n ? mergeRank(t, ids[i] as number, ids[i + 1] as number) : -1;
  let alive = n;
  for (;;) {
    let best = -1;
    let bestRank = 0x7fffffff;
    for (let i = 0; i !== -1; i = next[i] as number) {
      const r = ranks[i] as number;
      if (r >= 0 && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best === -1) return alive;
    const right = next[best] as number;
    const newId = t.mergeNew[bestRank] as number;
    ids[best] = newId;
    const after = next[right] as number;
    next[best] = after;
    if (after !== -1) prev[after] = best;
    alive--;
    ranks[best] = after === -1 ? -1 : mergeRank(t, newId, ids[after] as number);
    const before = prev[best] as number;
    if (before >= 0) ranks[before] = mergeRank(t, ids[before] as number, newId);
  }
}

const HEAP_POS = 2 ** 32; // heap key = rank * 2^32 + position: a min-heap on (rank, position), as in the reference

function heapPush(heap: Float64Array, size: number, key: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pk = heap[parent] as number;
    if (pk <= key) break;
    heap[i] = pk;
    i = parent;
  }
  heap[i] = key;
}

/** Removes the minimum; `size` is the size before removal. */
function heapPop(heap: Float64Array, size: number): number {
  const top = heap[0] as number;
  const n = size - 1;
  const last = heap[n] as number;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && (heap[r] as number) < (heap[l] as number) ? r : l;
    if ((heap[c] as number) >= last) break;
    heap[i] = heap[c] as number;
    i = c;
  }
  heap[i] = last;
  return top;
}

/** Long words: the reference's priority queue, including its stale-entry rule. */
function mergeByHeap(t: BpeTables, n: number): number {
  const { ids, prev, next, heap } = scratch;
  let size = 0;
  for (let i = 0; i + 1 < n; i++) {
    const rank = mergeRank(t, ids[i] as number, ids[i + 1] as number);
    if (rank >= 0) heapPush(heap, size++, rank * HEAP_POS + i);
  }
  let alive = n;
  // A merged-away symbol is marked by prev = -2.
  while (size > 0) {
    const key = heapPop(heap, size--);
    const rank = Math.floor(key / HEAP_POS);
    const pos = key - rank * HEAP_POS;
    if (prev[pos] === -2) continue;
    const right = next[pos] as number;
    if (right === -1) continue;
    const current = mergeRank(t, ids[pos] as number, ids[right] as number);
    const newId = t.mergeNew[rank] as number;
    if (current < 0 || t.mergeNew[current] !== newId) continue;
    ids[pos] = newId;
    const after = next[right] as number;
    next[pos] = after;
    prev[right] = -2;
    if (after !== -1) prev[after] = pos;
    alive--;
    const before = prev[pos] as number;
    if (before >= 0) {
      const r = mergeRank(t, ids[before] as number, newId);
      if (r >= 0) heapPush(heap, size++, r * HEAP_POS + before);
    }
    if (after !== -1) {
      const r = mergeRank(t, newId, ids[after] as number);
      if (r >= 0) heapPush(heap, size++, r * HEAP_POS + pos);
    }
  }
  return alive;
}
