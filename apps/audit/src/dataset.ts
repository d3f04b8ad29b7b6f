/**
 * Audit datasets in memory, and their loaders: the embedded default (fixture photos captioned with CLDR names),
 * the XM3600 layout (captions.jsonl + image folder), a generic image folder with captions.csv / captions.jsonl, and
 * FairFace label CSVs.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface DatasetImage {
  key: string;
  /** Absolute path of the image file. */
  path: string;
  /** Shows people (excluded from representation bias, which is measured on objects). */
  people: boolean;
}

export interface DatasetCaption {
  /** Index into `images`. */
  image: number;
  language: string;
  text: string;
}

export interface AuditDataset {
  id: string;
  description: string;
  languages: string[];
  images: DatasetImage[];
  captions: DatasetCaption[];
  /**
   * The n-th caption of an image is a translation of the n-th caption of the same image in every other language
   * (the default dataset). Otherwise captions were written per language (XM3600) and the dashboard pairs them by
   * position only.
   */
  parallelCaptions?: boolean;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root (the default dataset's photo paths are relative to it). */
export const REPO_ROOT = resolve(HERE, "../../..");
export const DEFAULT_DATASET_FILE = join(HERE, "../data/default-dataset.json");

interface DefaultDatasetJson {
  id: string;
  description: string;
  languages: string[];
  images: { key: string; file: string; people: boolean; captions: Record<string, string[]> }[];
}

/** The embedded default: fixture photos with CLDR class names as captions in the 36 XM3600 languages. */
export function loadDefaultDataset(root = REPO_ROOT): AuditDataset {
  const json = JSON.parse(readFileSync(DEFAULT_DATASET_FILE, "utf8")) as DefaultDatasetJson;
  const captions: DatasetCaption[] = [];
  json.images.forEach((img, i) => {
    for (const lang of json.languages) for (const text of img.captions[lang] ?? []) captions.push({ image: i, language: lang, text });
  });
  return {
    id: json.id,
    description: json.description,
    languages: json.languages,
    images: json.images.map((img) => ({ key: img.key, path: join(root, img.file), people: img.people })),
    captions,
    parallelCaptions: true,
  };
}

/**
 * XM3600 layout: `captions.jsonl` lines `{"image/key": K, "<lang>": {"caption": [...]}, ...}` and images at
 * `images/<K>.jpg` (audit-metrics.md §1.4).
 */
export function loadXm3600(dir: string): AuditDataset {
  const file = join(dir, "captions.jsonl");
  if (!existsSync(file)) throw new SiglipError("NOT_FOUND", `no captions.jsonl in ${dir}`);
  const images: DatasetImage[] = [];
  const captions: DatasetCaption[] = [];
  const languages = new Set<string>();
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .forEach((line, n) => {
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 1}: not JSON`, { cause: err });
      }
      const key = row["image/key"];
      if (typeof key !== "string") throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 1}: missing "image/key"`);
      const index = images.length;
      images.push({ key, path: join(dir, "images", `${key}.jpg`), people: false });
      for (const [lang, v] of Object.entries(row)) {
        if (lang === "image/key" || typeof v !== "object" || v === null) continue;
        const caps = (v as Record<string, unknown>)["caption"];
        if (!Array.isArray(caps)) continue;
        languages.add(lang);
        for (const c of caps) if (typeof c === "string") captions.push({ image: index, language: lang, text: c });
      }
    });
  return { id: `xm3600:${dir}`, description: `XM3600 layout at ${dir}`, languages: [...languages].sort(), images, captions };
}

/** Splits one CSV line (RFC 4180 quotes). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function readCsv(file: string): Record<string, string>[] {
  const lines = readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = parseCsvLine(lines[0] ?? "");
  return lines.slice(1).map((l, n) => {
    const cells = parseCsvLine(l);
    if (cells.length !== header.length) throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 2}: ${cells.length} cells, header has ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h.trim(), cells[i] ?? ""]));
  });
}

/**
 * Generic folder: images under `dir` plus `captions.csv` (columns image,language,caption) or `captions.jsonl`
 * (`{"image", "language", "caption"}` per line); an optional boolean column/field `people`.
 */
export function loadFolderDataset(dir: string): AuditDataset {
  const csv = join(dir, "captions.csv");
  const jsonl = join(dir, "captions.jsonl");
  let rows: Record<string, unknown>[];
  if (existsSync(csv)) rows = readCsv(csv);
  else if (existsSync(jsonl)) {
    rows = readFileSync(jsonl, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } else throw new SiglipError("NOT_FOUND", `no captions.csv or captions.jsonl in ${dir}`);
  const images: DatasetImage[] = [];
  const index = new Map<string, number>();
  const captions: DatasetCaption[] = [];
  const languages = new Set<string>();
  rows.forEach((r, n) => {
    const image = r["image"];
    const language = r["language"];
    const caption = r["caption"];
    if (typeof image !== "string" || typeof language !== "string" || typeof caption !== "string" || caption === "") {
      throw new SiglipError("INVALID_ARGUMENT", `caption row ${n + 1} needs image, language and caption`);
    }
    let i = index.get(image);
    if (i === undefined) {
      i = images.length;
      index.set(image, i);
      const people = r["people"] === true || r["people"] === "true" || r["people"] === "1";
      images.push({ key: image, path: join(dir, image), people });
    }
    languages.add(language);
    captions.push({ image: i, language, text: caption });
  });
  return { id: `folder:${dir}`, description: `image folder ${dir}`, languages: [...languages].sort(), images, captions };
}

/** One FairFace label row (`file,age,gender,race,service_test`, audit-metrics.md §3). */
export interface FairFaceLabel {
  file: string;
  age: string;
  gender: string;
  race: string;
}

export const FAIRFACE_RACES = ["White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern"];
export const FAIRFACE_AGES = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"];

/** Parses a FairFace label CSV, checking gender, race and age values against FairFace's vocabularies. */
export function loadFairFaceLabels(file: string): FairFaceLabel[] {
  return readCsv(file).map((r, n) => {
    const label = { file: r["file"] ?? "", age: r["age"] ?? "", gender: r["gender"] ?? "", race: r["race"] ?? "" };
    if (label.file === "") throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 2}: empty file column`);
    if (label.gender !== "Male" && label.gender !== "Female") throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 2}: gender "${label.gender}"`);
    if (!FAIRFACE_RACES.includes(label.race)) throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 2}: race "${label.race}"`);
    if (!FAIRFACE_AGES.includes(label.age)) throw new SiglipError("INVALID_ARGUMENT", `${file}:${n + 2}: age "${label.age}"`);
    return label;
  });
}

/** Label files looked for in a FairFace folder, in order: ours, then FairFace's own (validation set first). */
export const FAIRFACE_LABEL_FILES = ["labels.csv", "fairface_label_val.csv", "fairface_label_train.csv"];

/**
 * FairFace-style labelled images: a folder laid out as FairFace is (`fairface_label_val.csv` with `file` paths such
 * as `val/1.jpg`), or with our `labels.csv`, or a CSV path; `file` is relative to the CSV's folder.
 */
export function loadFairFaceFolder(path: string): { labels: FairFaceLabel[]; images: DatasetImage[] } {
  const csv = path.endsWith(".csv") ? path : (FAIRFACE_LABEL_FILES.map((f) => join(path, f)).find((f) => existsSync(f)) ?? join(path, "labels.csv"));
  if (!existsSync(csv)) throw new SiglipError("NOT_FOUND", path.endsWith(".csv") ? `no FairFace label CSV at ${csv}` : `no FairFace label CSV in ${path} (looked for ${FAIRFACE_LABEL_FILES.join(", ")})`);
  const root = dirname(csv);
  const labels = loadFairFaceLabels(csv);
  return { labels, images: labels.map((l) => ({ key: l.file, path: join(root, l.file), people: true })) };
}
