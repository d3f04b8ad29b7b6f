/**
 * The dashboard explorer's query lists: per language, the T→I queries whose rank changed most between two models
 * (two reports on the same dataset) or between two languages of one model (a caption and its translation-group
 * partner in the reference language). From the reports' explorer sections only; no similarity is recomputed.
 *
 * Order: by |log2(rank A / rank B)| (a fall from rank 1 to 8 counts as much as one from 100 to 800), then by
 * |rank A − rank B|, then language and query order, so the lists are deterministic.
 * @module
 */
import type { AuditReport, ExplorerLanguage } from "./report-schema.ts";
import { unpackInts } from "./report-schema.ts";

export interface QuerySide {
  /** Model id (models mode) or language code (languages mode). */
  label: string;
  language: string;
  /** The query text on this side (the partner caption in languages mode). */
  text: string;
  rank: number;
  /** Top-k images (dataset indices), most similar first; -1 where not recorded. */
  top: number[];
}

export interface RankChange {
  language: string;
  /** Index of the query among the language's explorer queries. */
  query: number;
  /** The true image (dataset index). */
  image: number;
  /** Translation group: `${image key}#${n}`, the n-th caption of the image in each language. */
  group: string;
  a: QuerySide;
  b: QuerySide;
  /** log2(b.rank / a.rank): positive when B ranks the true image lower (worse) than A. */
  change: number;
}

export interface RankChangeLists {
  mode: "models" | "languages";
  /** Models: "A: id" / "B: id"; languages: the language, and the reference language. */
  sides: [string, string];
  /** Reference language (languages mode). */
  reference?: string;
  byLanguage: Record<string, RankChange[]>;
  /** Languages left out and why (no explorer data, different queries, no reference partner). */
  notes: string[];
}

/** A language's explorer queries, unpacked, with the translation group of each. */
export interface UnpackedLanguage {
  language: string;
  captions: string[];
  image: Int32Array;
  rank: Int32Array;
  top: Int32Array;
  groups: string[];
  byGroup: Map<string, number>;
}

export function unpackExplorer(report: AuditReport): Map<string, UnpackedLanguage> {
  const out = new Map<string, UnpackedLanguage>();
  const ex = report.explorer;
  if (ex === null || ex === undefined) return out;
  const keys = report.gallery?.images.map((g) => g.key);
  for (const l of ex.languages) out.set(l.language, unpackLanguage(l, ex.intBytes, keys));
  return out;
}

function unpackLanguage(l: ExplorerLanguage, bytes: 2 | 4, keys: readonly string[] | undefined): UnpackedLanguage {
  const image = unpackInts(l.image, bytes);
  const seen = new Map<number, number>();
  const groups = Array.from(image, (i) => {
    const n = seen.get(i) ?? 0;
    seen.set(i, n + 1);
    return `${keys?.[i] ?? String(i)}#${n}`;
  });
  return { language: l.language, captions: l.captions, image, rank: unpackInts(l.rank, bytes), top: unpackInts(l.top, bytes), groups, byGroup: new Map(groups.map((g, q) => [g, q])) };
}

function topOf(u: UnpackedLanguage, q: number, k: number): number[] {
  return Array.from(u.top.subarray(q * k, q * k + k));
}

/** One side of a comparison: query `q` of the unpacked language `u`, its top `k`. */
interface SideRef {
  label: string;
  language: string;
  u: UnpackedLanguage;
  q: number;
  k: number;
}

function rankChange(language: string, query: number, own: UnpackedLanguage, a: SideRef, b: SideRef): RankChange {
  const side = (s: SideRef): QuerySide => ({ label: s.label, language: s.language, text: s.u.captions[s.q] as string, rank: s.u.rank[s.q] as number, top: topOf(s.u, s.q, s.k) });
  const sa = side(a);
  const sb = side(b);
  return { language, query, image: own.image[query] as number, group: own.groups[query] as string, a: sa, b: sb, change: Math.log2(sb.rank / sa.rank) };
}

function ordered(list: RankChange[], n: number): RankChange[] {
  const mag = (c: RankChange) => Math.abs(c.change);
  return list
    .filter((c) => c.a.rank !== c.b.rank)
    .sort((x, y) => mag(y) - mag(x) || Math.abs(y.a.rank - y.b.rank) - Math.abs(x.a.rank - x.b.rank) || x.query - y.query)
    .slice(0, n);
}

/** Model A vs model B per language: the n queries with the largest rank changes. */
export function modelRankChanges(a: AuditReport, b: AuditReport, n = 20): RankChangeLists {
  const ua = unpackExplorer(a);
  const ub = unpackExplorer(b);
  const k = a.explorer?.k ?? 0;
  const out: RankChangeLists = { mode: "models", sides: [`A: ${a.model.id}`, `B: ${b.model.id}`], byLanguage: {}, notes: [] };
  if (a.explorer === null || b.explorer === null) {
    out.notes.push(`${a.explorer === null ? "A" : "B"} is a schemaVersion 1 report without per-query ranks`);
    return out;
  }
  for (const [language, la] of ua) {
    const lb = ub.get(language);
    if (lb === undefined) continue;
    const m = Math.min(la.captions.length, lb.captions.length);
    const list: RankChange[] = [];
    let same = true;
    for (let q = 0; q < m; q++) {
      if (la.captions[q] !== lb.captions[q] || la.image[q] !== lb.image[q]) {
        same = false;
        break;
      }
      list.push(rankChange(language, q, la, { label: out.sides[0], language, u: la, q, k }, { label: out.sides[1], language, u: lb, q, k: Math.min(k, b.explorer.k) }));
    }
    if (!same) {
      out.notes.push(`${language}: the reports list different queries`);
      continue;
    }
    out.byLanguage[language] = ordered(list, n);
  }
  return out;
}

/** Every language vs a reference language of the same report, caption by translation-group partner. */
export function languageRankChanges(report: AuditReport, reference?: string, n = 20): RankChangeLists {
  const u = unpackExplorer(report);
  const ref = reference ?? (u.has("en") ? "en" : [...u.keys()][0]);
  const out: RankChangeLists = { mode: "languages", sides: ["language", ref ?? "reference"], byLanguage: {}, notes: [], ...(ref ? { reference: ref } : {}) };
  if (report.explorer === null) {
    out.notes.push("a schemaVersion 1 report has no per-query ranks");
    return out;
  }
  const lr = ref === undefined ? undefined : u.get(ref);
  if (lr === undefined || ref === undefined) return out;
  const k = report.explorer.k;
  for (const [language, l] of u) {
    if (language === ref) continue;
    const list: RankChange[] = [];
    l.groups.forEach((g, q) => {
      const p = lr.byGroup.get(g);
      if (p === undefined) return;
      list.push(rankChange(language, q, l, { label: language, language, u: l, q, k }, { label: `${ref} (reference)`, language: ref, u: lr, q: p, k }));
    });
    if (list.length === 0) out.notes.push(`${language}: no caption shares a translation group with ${ref}`);
    out.byLanguage[language] = ordered(list, n);
  }
  return out;
}

/** The other languages' captions of each translation group, for the groups listed. */
export function translationGroups(report: AuditReport, groups: Iterable<string>): Record<string, Record<string, string>> {
  const u = unpackExplorer(report);
  const out: Record<string, Record<string, string>> = {};
  for (const g of groups) {
    const texts: Record<string, string> = {};
    for (const [language, l] of u) {
      const q = l.byGroup.get(g);
      if (q !== undefined) texts[language] = l.captions[q] as string;
    }
    out[g] = texts;
  }
  return out;
}
