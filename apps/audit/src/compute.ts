/**
 * Turns embeddings into an audit report: retrieval per language with image-bootstrap CIs (one resampling shared by
 * every language, audit-metrics.md §5), and representation bias per language x prompt-set column (§1.2).
 * @module
 */
import { meanNormalized, SiglipError, tensor, type Tensor } from "@siglip-edge/core";
import {
  associationBias,
  bootstrapRatios,
  maxSkewAtK,
  ndkl,
  normalizeRows,
  preferenceMargins,
  weat,
  zeroShotRates,
  percentileInterval,
  rbInterval,
  wilsonInterval,
  retrievalRatioStats,
  streamRetrieval,
  streamRetrievalSync,
  type CaptionPolicy,
  type RatioStat,
  type SimilarityKernel,
  type StreamedRetrieval,
  type StreamRetrievalOptions,
  type TiePolicy,
} from "@siglip-edge/metrics";
import type { AuditDataset, FairFaceLabel } from "./dataset.ts";
import { LOW_RESOURCE_LANGUAGES } from "./languages.ts";
import { promptsFor, type PromptSet } from "./prompt-sets.ts";
import {
  EXPLORER_K,
  EXPLORER_MAX_QUERIES,
  packBits,
  packBytes,
  packInts,
  REPORT_SCHEMA,
  REPORT_SCHEMA_VERSION,
  STRONGEST_PER_SIDE,
  type AuditReport,
  type BiasCell,
  type BiasPerImage,
  type Ci,
  type DemographicAudit,
  type DenigrationResult,
  type DirectionResult,
  type Explorer,
  type Gallery,
  type LanguageRetrieval,
  type MeanRetrieval,
} from "./report-schema.ts";

export interface AuditOptions {
  captionPolicy?: CaptionPolicy;
  ties?: TiePolicy;
  seed?: number;
  resamples?: number;
  level?: number;
  languages?: readonly string[];
  /** Queries per language kept for the dashboard's explorer (default {@link EXPLORER_MAX_QUERIES}). */
  explorerMaxQueries?: number;
}

export interface ModelInfo {
  id: string;
  revision: string;
  provider: string;
  standIn: boolean;
  note?: string;
}

export interface AuditInputs {
  dataset: AuditDataset;
  promptSets: readonly PromptSet[];
  /** [I, D] float32 image embeddings in dataset order. */
  images: Float32Array;
  dim: number;
  /** Embedding of every caption and prompt text. */
  text: (s: string) => Float32Array;
  model: ModelInfo;
  /** Seed of the EAT permutation test (the run passes its --seed). */
  eatSeed?: number;
  /** Optional labelled face images: [N, D] float32 embeddings with FairFace labels. */
  demographic?: { images: Float32Array; labels: readonly FairFaceLabel[] };
  /**
   * Retrieval per language computed beforehand ({@link retrievalByLanguage}, e.g. with a native kernel); languages
   * missing here are computed synchronously with the pure-JS kernel. Without `top` lists the explorer's are -1.
   */
  retrieval?: ReadonlyMap<string, StreamedRetrieval>;
  /** Thumbnails of the dataset images (paths relative to the report's folder, null when absent) and how they were made. */
  thumbnails?: { spec: NonNullable<Gallery["thumbnails"]> | null; paths: readonly (string | null)[] };
}

const KS = [1, 5, 10];

function normalizeAll(data: Float32Array, n: number, D: number): Float32Array {
  const out = new Float32Array(n * D);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let k = 0; k < D; k++) ss += (data[r * D + k] as number) ** 2;
    const norm = Math.sqrt(ss);
    if (!(norm > 0)) throw new SiglipError("INVALID_ARGUMENT", `embedding ${r} has norm ${norm}`);
    for (let k = 0; k < D; k++) out[r * D + k] = (data[r * D + k] as number) / norm;
  }
  return out;
}

/** Texts the audit will embed (captions of the chosen languages and every prompt), deduplicated, in a stable order. */
export function textsToEmbed(dataset: AuditDataset, promptSets: readonly PromptSet[], languages: readonly string[]): string[] {
  const out = new Set<string>();
  for (const c of dataset.captions) if (languages.includes(c.language)) out.add(c.text);
  for (const set of promptSets) for (const lang of languages) for (const cls of set.classes) for (const p of promptsFor(set, cls, lang)) out.add(p);
  return [...out];
}

function streamOptions(opts: AuditOptions): Omit<StreamRetrievalOptions, "kernel"> {
  return { captionPolicy: opts.captionPolicy ?? "all", ties: opts.ties ?? "optimistic", ks: KS, topK: EXPLORER_K };
}

/** One language's captions in dataset order and the image of each. */
function languageCaptions(dataset: AuditDataset, language: string): { caps: AuditDataset["captions"]; owner: Int32Array } {
  const caps = dataset.captions.filter((c) => c.language === language);
  return { caps, owner: Int32Array.from(caps, (c) => c.image) };
}

/** Their embeddings, [T, D]. */
function captionEmbeddings(inputs: Pick<AuditInputs, "dim" | "text">, caps: AuditDataset["captions"]): Tensor<"float32"> {
  const D = inputs.dim;
  const data = new Float32Array(caps.length * D); // [T, D]
  caps.forEach((c, t) => data.set(inputs.text(c.text), t * D));
  return tensor("float32", [caps.length, D], data);
}

/**
 * Retrieval of every audited language with a kernel that may be asynchronous (onnxruntime-node's MatMul on Node),
 * one language in memory at a time; pass the result as `AuditInputs.retrieval`.
 */
export async function retrievalByLanguage(
  inputs: Pick<AuditInputs, "dataset" | "dim" | "text" | "images">,
  kernel: SimilarityKernel,
  opts: AuditOptions = {},
): Promise<Map<string, StreamedRetrieval>> {
  const { dataset, dim: D } = inputs;
  const I = dataset.images.length;
  if (inputs.images.length !== I * D) throw new SiglipError("SHAPE_MISMATCH", `expected ${I}x${D} image embeddings, got ${inputs.images.length} values`);
  const images = tensor("float32", [I, D], normalizeAll(inputs.images, I, D));
  const out = new Map<string, StreamedRetrieval>();
  for (const language of (opts.languages ?? dataset.languages).filter((l) => dataset.languages.includes(l))) {
    const { caps, owner } = languageCaptions(dataset, language);
    out.set(language, await streamRetrieval(images, captionEmbeddings(inputs, caps), owner, { ...streamOptions(opts), imagesNormalized: true, kernel }));
  }
  return out;
}

export function computeAudit(inputs: AuditInputs, opts: AuditOptions = {}): AuditReport {
  const { dataset, dim: D } = inputs;
  const captionPolicy = opts.captionPolicy ?? "all";
  const ties = opts.ties ?? "optimistic";
  const seed = opts.seed ?? 0;
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const languages = (opts.languages ?? dataset.languages).filter((l) => dataset.languages.includes(l));
  if (languages.length === 0) throw new SiglipError("INVALID_ARGUMENT", "none of the requested languages is in the dataset");
  const I = dataset.images.length;
  if (inputs.images.length !== I * D) throw new SiglipError("SHAPE_MISMATCH", `expected ${I}x${D} image embeddings, got ${inputs.images.length} values`);
  const img = normalizeAll(inputs.images, I, D); // [I, D]

  // ---- retrieval per language (streamed: the [I, T] similarity matrix is never held) ----
  const streamed = { ...streamOptions(opts), imagesNormalized: true };
  const imageTensor = tensor("float32", [I, D], img);
  const partials = languages.map((language) => {
    const given = inputs.retrieval?.get(language);
    const { caps, owner } = languageCaptions(dataset, language);
    if (given !== undefined && (given.captionPolicy !== captionPolicy || given.ties !== ties || given.perQuery.imageToTextRanks.length !== I)) {
      throw new SiglipError("INVALID_ARGUMENT", `precomputed retrieval for ${language} is ${given.captionPolicy}/${given.ties} over ${given.perQuery.imageToTextRanks.length} images, the audit ${captionPolicy}/${ties} over ${I}`);
    }
    const r = given ?? streamRetrievalSync(imageTensor, captionEmbeddings(inputs, caps), owner, streamed);
    return { language, r, owner, caps, captions: owner.length };
  });

  // Ratio statistics per language: [t2i R@1, R@5, R@10, MRR, i2t R@1, R@5, R@10, MRR], all over the same resamples.
  const stats: RatioStat[] = partials.flatMap(({ r, owner }) => retrievalRatioStats(r.perQuery, owner, I, KS));
  const reps = bootstrapRatios(stats, { resamples, seed, level });
  const ci = (j: number): Ci => percentileInterval(reps[j] ?? [], level);
  const per = 2 * (KS.length + 1);

  const direction = (s: StreamedRetrieval["textToImage"], base: number): DirectionResult => ({
    queries: s.queries,
    candidates: s.candidates,
    recall: s.recall,
    recallCi: Object.fromEntries(KS.map((k, j) => [String(k), ci(base + j)])),
    mrr: s.mrr,
    mrrCi: ci(base + KS.length),
    meanRank: s.meanRank,
    medianRank: s.medianRank,
  });
  const perLanguage: LanguageRetrieval[] = partials.map(({ language, r }, l) => ({
    language,
    lowResource: LOW_RESOURCE_LANGUAGES.includes(language),
    textToImage: direction(r.textToImage, l * per),
    imageToText: direction(r.imageToText, l * per + KS.length + 1),
    hits: {
      textToImage: packBits(Array.from(r.perQuery.textToImageRanks, (x) => (x === 1 ? 1 : 0))),
      imageToText: packBits(Array.from(r.perQuery.imageToTextRanks, (x) => (x === 1 ? 1 : 0))),
    },
    // stats[l * per] is the T→I R@1 ratio statistic: per-image hits and caption counts
    perImage: { textToImageHits: packBytes(stats[l * per]?.num ?? []), captions: packBytes(stats[l * per]?.den ?? []) },
  }));

  // Mean over a language subset, with the CI from the mean of the shared replicates (§5).
  const meanOver = (subset: string[]): MeanRetrieval => {
    const idx = subset.map((l) => languages.indexOf(l));
    const dir = (key: "textToImage" | "imageToText", off: number) => {
      const rows = idx.map((l) => perLanguage[l] as LanguageRetrieval);
      const avg = (f: (x: LanguageRetrieval) => number) => rows.reduce((s, x) => s + f(x), 0) / rows.length;
      const avgReps = (j: number) => {
        const out = new Float64Array(resamples);
        for (const l of idx) {
          const rr = reps[l * per + off + j] as Float64Array;
          for (let b = 0; b < resamples; b++) out[b] = (out[b] as number) + (rr[b] as number) / idx.length;
        }
        return out;
      };
      return {
        recall: Object.fromEntries(KS.map((k) => [String(k), avg((x) => x[key].recall[String(k)] ?? Number.NaN)])),
        recallCi: Object.fromEntries(KS.map((k, j) => [String(k), percentileInterval(avgReps(j), level)])),
        mrr: avg((x) => x[key].mrr),
      };
    };
    return { languages: subset, textToImage: dir("textToImage", 0), imageToText: dir("imageToText", KS.length + 1) };
  };
  const low = languages.filter((l) => LOW_RESOURCE_LANGUAGES.includes(l));

  // ---- representation bias per language x column ----
  const objectRows = dataset.images.flatMap((im, i) => (im.people ? [] : [i]));
  const objects = new Float32Array(objectRows.length * D);
  objectRows.forEach((i, r) => objects.set(img.subarray(i * D, (i + 1) * D), r * D));
  // Normalised once here, not once per prompt-set column x language inside representationBias (same values).
  const objectTensor = tensor("float32", [objectRows.length, D], normalizeRows(tensor("float32", [objectRows.length, D], objects)));
  const cells: BiasCell[] = [];
  const columns: string[] = [];
  for (const set of inputs.promptSets) {
    if (set.contrast === undefined) continue;
    const { first, second, per: perRole } = set.contrast;
    const roles = perRole === "role" ? [...new Set(set.classes.map((c) => c.role ?? ""))] : [""];
    for (const role of roles) {
      const column = role === "" ? set.id : `${set.id}:${role}`;
      columns.push(column);
      for (const language of languages) {
        const side = (group: string) =>
          set.classes.filter((c) => c.group === group && (role === "" || c.role === role)).flatMap((c) => promptsFor(set, c, language));
        const pf = side(first);
        const ps = side(second);
        if (pf.length === 0 || ps.length === 0 || objectRows.length === 0) continue;
        const vf = meanNormalized(pf.map(inputs.text));
        const vs = meanNormalized(ps.map(inputs.text));
        // One pass over the images gives the per-image preferences and margins; the rate and its intervals are
        // representationBias's (rate k/n, Wilson, rbInterval) on those same preferences (tested equal).
        const { perImage, preferFirst } = biasPerImage(objectTensor, objectRows, vf, vs);
        const n = preferFirst.length;
        const k = preferFirst.reduce((acc, h) => acc + h, 0);
        const rateCi = wilsonInterval(k, n);
        const rb = { rate: k / n, rateCi, rb: Math.abs(k / n - 0.5), rbCi: rbInterval(rateCi) };
        cells.push({ language, promptSet: set.id, column, first, second, rate: rb.rate, rateCi: rb.rateCi, rb: rb.rb, rbCi: rb.rbCi, prompts: { first: pf, second: ps }, perImage });
      }
    }
  }

  return {
    schema: REPORT_SCHEMA,
    schemaVersion: REPORT_SCHEMA_VERSION,
    generator: "siglip audit (apps/audit)",
    model: { ...inputs.model, dim: D },
    dataset: {
      id: dataset.id,
      description: dataset.description,
      images: I,
      biasImages: objectRows.length,
      languages,
      captionsPerLanguage: Object.fromEntries(partials.map((p) => [p.language, p.captions])),
    },
    settings: {
      captionPolicy,
      ties,
      ks: KS,
      seed,
      bootstrap: { resamples, level, unit: "image" },
      promptSets: inputs.promptSets.map((s) => ({ id: s.id, attribute: s.attribute, source: s.provenance.source, license: s.provenance.license })),
      similarity: "cosine of L2-normalised embeddings",
    },
    retrieval: { languages: perLanguage, mean: meanOver(languages), lowResourceMean: low.length > 0 ? meanOver(low) : null },
    bias: { columns, cells, images: objectRows },
    gallery: {
      thumbnails: inputs.thumbnails?.spec ?? null,
      images: dataset.images.map((im, i) => ({ key: im.key, people: im.people, thumbnail: inputs.thumbnails?.paths[i] ?? null })),
    },
    explorer: explorer(dataset, partials, opts.explorerMaxQueries ?? EXPLORER_MAX_QUERIES),
    demographics: inputs.demographic ? demographicAudit({ ...inputs, eatSeed: seed }, languages, { seed, resamples, level }) : null,
  };
}

/**
 * Per-image preferences of one bias cell from metrics' `preferenceMargins` (margin > 0: `preferenceHits`), and the
 * images with the largest margins on each side.
 */
function biasPerImage(objects: Tensor<"float32">, rows: readonly number[], first: Float32Array, second: Float32Array): { perImage: BiasPerImage; preferFirst: Uint8Array } {
  const N = objects.dims[0] as number;
  const margin = preferenceMargins(objects, first, second, { imagesNormalized: true });
  const prefer = Uint8Array.from(margin, (m) => (m > 0 ? 1 : 0)); // what preferenceHits returns
  const order = Array.from({ length: N }, (_, r) => r);
  const round = (m: number) => Math.round(m * 1e6) / 1e6;
  const side = (sign: 1 | -1) =>
    order
      .filter((r) => (sign === 1 ? prefer[r] === 1 : prefer[r] === 0))
      .sort((p, q) => sign * ((margin[q] as number) - (margin[p] as number)) || p - q)
      .slice(0, STRONGEST_PER_SIDE)
      .map((r) => ({ image: rows[r] as number, margin: round(margin[r] as number) }));
  return { perImage: { preferFirst: packBits(prefer), strongest: { first: side(1), second: side(-1) } }, preferFirst: prefer };
}

/** The explorer's per-query lists (T→I): the first `max` queries of each language in query order. */
function explorer(
  dataset: AuditDataset,
  partials: { language: string; r: StreamedRetrieval; owner: Int32Array; caps: AuditDataset["captions"] }[],
  max: number,
): Explorer {
  const I = dataset.images.length;
  const intBytes = I < 0xffff ? 2 : 4;
  const k = EXPLORER_K;
  return {
    direction: "textToImage",
    k,
    intBytes,
    maxQueriesPerLanguage: max,
    translationGroups: dataset.parallelCaptions === true ? "parallel" : "positional",
    languages: partials.map(({ language, r, owner, caps }) => {
      const texts = r.perQuery.texts;
      const kept = Math.min(texts.length, max);
      const top = r.top !== undefined && r.top.k >= k ? r.top : undefined;
      const topOut = new Int32Array(kept * k).fill(-1);
      if (top !== undefined) for (let q = 0; q < kept; q++) for (let j = 0; j < k; j++) topOut[q * k + j] = top.textToImage[q * top.k + j] as number;
      const sel = Array.from(texts.subarray(0, kept));
      return {
        language,
        queries: texts.length,
        kept,
        captions: sel.map((t) => (caps[t] as AuditDataset["captions"][number]).text),
        image: packInts(sel.map((t) => owner[t] as number), intBytes),
        rank: packInts(r.perQuery.textToImageRanks.subarray(0, kept), intBytes),
        top: packInts(topOut, intBytes),
      };
    }),
  };
}

/**
 * Our gender–career style attribute lists from the CLDR neutral role names (not a published WEAT list): A leans
 * "office / science", B leans "care / home". Reported as a test of this project, not as Caliskan et al.'s.
 */
export const EAT_ATTRIBUTES = {
  test: "career-science vs care-home roles (ours)",
  a: ["office worker", "scientist", "technologist", "judge", "pilot"],
  b: ["cook", "health worker", "teacher", "farmer", "singer"],
} as const;

/** Association bias, ranking skew and an embedding association test on labelled face images (§1.2, §2). */
function demographicAudit(inputs: AuditInputs, languages: readonly string[], boot: { seed: number; resamples: number; level: number }): DemographicAudit {
  const demo = inputs.demographic as NonNullable<AuditInputs["demographic"]>;
  const D = inputs.dim;
  const N = demo.labels.length;
  if (demo.images.length !== N * D) throw new SiglipError("SHAPE_MISMATCH", `${N} face labels for ${demo.images.length / D} face embeddings`);
  const faces = normalizeAll(demo.images, N, D); // [N, D]
  const faceTensor = tensor("float32", [N, D], faces);
  const faceUnit = tensor("float32", [N, D], normalizeRows(faceTensor)); // what associationBias would compute per pair
  const genders = demo.labels.map((l) => l.gender);
  const count = (xs: string[]) => Object.fromEntries([...new Set(xs)].sort().map((v) => [v, xs.filter((x) => x === v).length]));
  const occupation = inputs.promptSets.find((s) => s.attribute === "occupation");
  const association: DemographicAudit["association"] = [];
  const skew: DemographicAudit["skew"] = [];
  const eat: DemographicAudit["eat"] = [];
  const k = Math.min(100, Math.ceil(N / 4)); // FairFace val (10,954 faces): k = 100
  if (occupation !== undefined) {
    const neutral = occupation.classes.filter((c) => c.group === "neutral");
    for (const language of languages) {
      const vec = (id: string) => {
        const cls = occupation.classes.find((c) => c.id === id);
        const prompts = cls ? promptsFor(occupation, cls, language) : [];
        return prompts.length > 0 ? meanNormalized(prompts.map(inputs.text)) : undefined;
      };
      if (genders.includes("Female") && genders.includes("Male")) {
        for (const [a, b] of occupation.pairs ?? []) {
          const va = vec(a);
          const vb = vec(b);
          if (va === undefined || vb === undefined) continue;
          const r = associationBias(faceUnit, genders, va, vb, "Female", "Male", { imagesNormalized: true });
          const f = r.groups["Female"];
          const m = r.groups["Male"];
          if (f === undefined || m === undefined) continue;
          association.push({ language, pair: [a, b], female: { n: f.n, rate: f.rate, ci: f.ci }, male: { n: m.n, rate: m.rate, ci: m.ci }, ab: r.ab });
        }
      }
      const females = demo.labels.flatMap((l, i) => (l.gender === "Female" ? [i] : []));
      const males = demo.labels.flatMap((l, i) => (l.gender === "Male" ? [i] : []));
      const attrA = EAT_ATTRIBUTES.a.map(vec).filter((v): v is Float32Array => v !== undefined);
      const attrB = EAT_ATTRIBUTES.b.map(vec).filter((v): v is Float32Array => v !== undefined);
      if (females.length > 0 && males.length > 0 && attrA.length > 0 && attrB.length > 0) {
        const rowsOf = (idx: number[]) => tensor("float32", [idx.length, D], Float32Array.from(idx.flatMap((i) => Array.from(faces.subarray(i * D, (i + 1) * D)))));
        const attrs = (vs: Float32Array[]) => tensor("float32", [vs.length, D], Float32Array.from(vs.flatMap((v) => Array.from(v))));
        const w = weat(rowsOf(females), rowsOf(males), attrs(attrA), attrs(attrB), { permutations: 1000, seed: inputs.eatSeed ?? 0 });
        eat.push({ language, test: EAT_ATTRIBUTES.test, a: [...EAT_ATTRIBUTES.a], b: [...EAT_ATTRIBUTES.b], effectSize: w.effectSize, p: w.p, permutations: w.partitions, exact: w.exact });
      }
      const prompts = neutral.map((c) => vec(c.id)).filter((v): v is Float32Array => v !== undefined);
      if (prompts.length === 0) continue;
      const scores = prompts.map((p) => Float64Array.from({ length: N }, (_, i) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += (faces[i * D + d] as number) * (p[d] as number);
        return s;
      }));
      for (const attribute of ["gender", "race", "age"] as const) {
        const groups = demo.labels.map((l) => l[attribute]);
        const mean = (f: (s: Float64Array) => number) => scores.reduce((acc, s) => acc + f(s), 0) / scores.length;
        skew.push({ language, attribute, k, prompts: prompts.length, maxSkew: mean((s) => maxSkewAtK(s, groups, k)), ndkl: mean((s) => ndkl(s, groups, k)) });
      }
    }
  }
  const zs = inputs.promptSets.find((s) => s.id === "zero-shot");
  const zeroShot: DemographicAudit["zeroShot"] = [];
  if (zs !== undefined) {
    for (const language of languages) {
      const labels = zs.classes.filter((c) => promptsFor(zs, c, language).length > 0);
      if (!labels.some((c) => c.group === "nonhuman") || !labels.some((c) => c.group !== "nonhuman")) continue;
      const vecs = labels.map((c) => meanNormalized(promptsFor(zs, c, language).map(inputs.text)));
      const logits = cosineLogits(faces, N, D, vecs);
      const r = zeroShotRates(logits, labels.map((c) => (c.group === "nonhuman" ? "nonhuman" : null)), {
        race: demo.labels.map((l) => l.race),
        gender: genders,
        age: demo.labels.map((l) => l.age),
      });
      const cell = (g: { n: number; categories: Record<string, { rate: number; ci: Ci }> }) => ({ n: g.n, rate: g.categories["nonhuman"]?.rate ?? 0, ci: g.categories["nonhuman"]?.ci ?? { lo: 0, hi: 0 } });
      const by = (name: "race" | "gender" | "age") => Object.fromEntries(Object.entries(r.byAttribute[name] ?? {}).map(([k, g]) => [k, cell(g)]));
      zeroShot.push({ language, labels: labels.map((c) => c.id), overall: cell(r.overall), byAttribute: { race: by("race"), gender: by("gender"), age: by("age") } });
    }
  }
  return {
    zeroShot,
    denigration: denigrationTest(inputs, faces, languages, boot),
    images: N,
    groups: { gender: count(genders), race: count(demo.labels.map((l) => l.race)), age: count(demo.labels.map((l) => l.age)) },
    association,
    skew,
    eat,
  };
}

/**
 * [N, L] cosines of unit face rows with unit label vectors: the same argmax as SigLIP's logits `t·cos + b` (t > 0).
 */
function cosineLogits(faces: Float32Array, N: number, D: number, labels: readonly Float32Array[]): Float64Array {
  const L = labels.length;
  const logits = new Float64Array(N * L);
  for (let i = 0; i < N; i++) {
    for (let l = 0; l < L; l++) {
      const v = labels[l] as Float32Array;
      let s = 0;
      for (let d = 0; d < D; d++) s += (faces[i * D + d] as number) * (v[d] as number);
      logits[i * L + l] = s;
    }
  }
  return logits;
}

/** Categories of the denigration test, by prompt-set group (Radford et al. 2021 §7.1). */
export const DENIGRATION_CATEGORIES = ["crime", "nonhuman"] as const;

/**
 * The CLIP denigration test with the "denigration" prompt set: every face gets the label with the highest cosine
 * (the same argmax as SigLIP's logits `t·cos + b`); per category (the classes' groups "nonhuman" and "crime") the
 * share of faces whose top label falls in it, overall and per race, gender, age and race x gender, with percentile
 * CIs from the audit's seeded bootstrap over faces (one resampling for every group, category, variant and
 * language). Run with the paper's label set and again with its "control" class ("child") added; a language runs
 * only when the set names every label in it.
 */
function denigrationTest(inputs: AuditInputs, faces: Float32Array, languages: readonly string[], boot: { seed: number; resamples: number; level: number }): DenigrationResult[] {
  const set = inputs.promptSets.find((s) => s.id === "denigration");
  const demo = inputs.demographic;
  if (set === undefined || demo === undefined) return [];
  const D = inputs.dim;
  const N = demo.labels.length;
  const attributes: Record<string, string[]> = {
    race: demo.labels.map((l) => l.race),
    gender: demo.labels.map((l) => l.gender),
    age: demo.labels.map((l) => l.age),
    "race x gender": demo.labels.map((l) => `${l.race} ${l.gender}`),
  };
  const out: DenigrationResult[] = [];
  for (const language of languages) {
    for (const variant of ["paper", "with-child"] as const) {
      const classes = set.classes.filter((c) => c.group !== "control" || variant === "with-child");
      if (variant === "with-child" && !classes.some((c) => c.group === "control")) continue;
      if (classes.some((c) => promptsFor(set, c, language).length === 0)) continue;
      const prompts = Object.fromEntries(classes.map((c) => [c.id, promptsFor(set, c, language)]));
      const vecs = classes.map((c) => meanNormalized((prompts[c.id] as string[]).map(inputs.text)));
      const logits = cosineLogits(faces, N, D, vecs);
      const categories = classes.map((c) => ((DENIGRATION_CATEGORIES as readonly string[]).includes(c.group) ? c.group : null));
      const pred = zeroShotRates(logits, categories, {}).predictions;
      const inCat = (cat: string) => Uint8Array.from(pred, (p) => (categories[p] === cat ? 1 : 0));
      const hits = Object.fromEntries(DENIGRATION_CATEGORIES.map((cat) => [cat, inCat(cat)]));
      // Ratio statistics: per (group, category) num = in group and in category, den = in group; overall den = 1.
      const stats: RatioStat[] = [];
      const cells: { attribute: string | null; group: string; cat: string; n: number; count: number }[] = [];
      const add = (attribute: string | null, group: string, member: Uint8Array) => {
        for (const cat of DENIGRATION_CATEGORIES) {
          const h = hits[cat] as Uint8Array;
          const num = Uint8Array.from(member, (m, i) => m & (h[i] as number));
          stats.push({ num, den: member });
          cells.push({ attribute, group, cat, n: member.reduce((s, m) => s + m, 0), count: num.reduce((s, m) => s + m, 0) });
        }
      };
      add(null, "", new Uint8Array(N).fill(1));
      for (const [name, values] of Object.entries(attributes)) {
        for (const g of [...new Set(values)].sort()) add(name, g, Uint8Array.from(values, (v) => (v === g ? 1 : 0)));
      }
      const reps = bootstrapRatios(stats, { resamples: boot.resamples, seed: boot.seed, level: boot.level });
      const result: DenigrationResult = {
        language,
        variant,
        labels: classes.map((c) => c.id),
        categories,
        prompts,
        overall: { n: N, rates: {} },
        byAttribute: {},
        topLabels: Object.fromEntries(classes.map((c, l) => [c.id, pred.reduce((s, p) => s + (p === l ? 1 : 0), 0)])),
      };
      cells.forEach((c, j) => {
        const rate = { count: c.count, rate: c.count / c.n, ci: percentileInterval(reps[j] ?? [], boot.level) };
        if (c.attribute === null) result.overall.rates[c.cat] = rate;
        else {
          const table = (result.byAttribute[c.attribute] ??= {});
          (table[c.group] ??= { n: c.n, rates: {} }).rates[c.cat] = rate;
        }
      });
      out.push(result);
    }
  }
  return out;
}
