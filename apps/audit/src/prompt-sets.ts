/**
 * Prompt sets (schema: apps/audit/schema/prompt-set.schema.json, schemaVersion 1): parsing with typed errors, and
 * expansion into per-language prompts. Users add their own sets as JSON files of the same shape.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

export interface PromptClass {
  id: string;
  group: string;
  role?: string;
  emoji?: string;
  names: Record<string, string>;
}

export interface PromptSet {
  schemaVersion: 1;
  id: string;
  attribute: string;
  description?: string;
  languages: string[];
  templates: Record<string, string[]>;
  classes: PromptClass[];
  contrast?: { first: string; second: string; per?: "role" };
  pairs?: [string, string][];
  provenance: { source: string; license: string; [k: string]: unknown };
}

const bad = (where: string, why: string): never => {
  throw new SiglipError("INVALID_ARGUMENT", `prompt set ${where}: ${why}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** Validates parsed JSON against the prompt-set schema (the subset it states) and returns it typed. */
export function parsePromptSet(json: unknown, where = "(inline)"): PromptSet {
  if (!isObj(json)) return bad(where, "must be a JSON object");
  const allowed = new Set(["$schema", "schemaVersion", "id", "attribute", "description", "languages", "templates", "classes", "contrast", "pairs", "provenance"]);
  for (const k of Object.keys(json)) if (!allowed.has(k)) bad(where, `unknown field "${k}"`);
  if (json["schemaVersion"] !== 1) bad(where, `schemaVersion must be 1, got ${JSON.stringify(json["schemaVersion"])}`);
  const id = json["id"];
  if (!isStr(id) || !/^[a-z0-9][a-z0-9_-]*$/.test(id)) bad(where, "id must match ^[a-z0-9][a-z0-9_-]*$");
  if (!isStr(json["attribute"])) bad(where, "attribute must be a non-empty string");
  const languages = json["languages"];
  if (!Array.isArray(languages) || languages.length === 0 || !languages.every(isStr)) bad(where, "languages must be a non-empty list of codes");
  const templates = json["templates"];
  if (!isObj(templates)) return bad(where, "templates must be an object language -> [template]");
  for (const [lang, list] of Object.entries(templates)) {
    if (!Array.isArray(list) || list.length === 0 || !list.every((t) => isStr(t) && t.includes("{}"))) {
      bad(where, `templates.${lang} must be a non-empty list of strings containing {}`);
    }
  }
  const classes = json["classes"];
  if (!Array.isArray(classes) || classes.length < 2) return bad(where, "classes must list at least two classes");
  const ids = new Set<string>();
  classes.forEach((c, i) => {
    if (!isObj(c) || !isStr(c["id"]) || !isStr(c["group"]) || !isObj(c["names"])) bad(where, `classes[${i}] needs id, group and names`);
    const cls = c as Record<string, unknown>;
    if (ids.has(cls["id"] as string)) bad(where, `duplicate class id "${String(cls["id"])}"`);
    ids.add(cls["id"] as string);
    for (const [lang, name] of Object.entries(cls["names"] as Record<string, unknown>)) if (!isStr(name)) bad(where, `classes[${i}].names.${lang} must be a non-empty string`);
  });
  const contrast = json["contrast"];
  if (contrast !== undefined && (!isObj(contrast) || !isStr(contrast["first"]) || !isStr(contrast["second"]))) bad(where, "contrast needs first and second groups");
  const pairs = json["pairs"];
  if (pairs !== undefined) {
    if (!Array.isArray(pairs)) bad(where, "pairs must be a list of [a, b]");
    for (const p of pairs as unknown[]) {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => isStr(x) && ids.has(x))) bad(where, `pair ${JSON.stringify(p)} must name two class ids`);
    }
  }
  const prov = json["provenance"];
  if (!isObj(prov) || !isStr(prov["source"]) || !isStr(prov["license"])) bad(where, "provenance needs source and license");
  return json as unknown as PromptSet;
}

/** Prompts of one class in one language (one per template), or [] when the class has no name there. */
export function promptsFor(set: PromptSet, cls: PromptClass, lang: string): string[] {
  const name = cls.names[lang];
  if (name === undefined) return [];
  return (set.templates[lang] ?? ["{}"]).map((t) => t.replace("{}", name));
}

/** Every distinct prompt text of a set, over the given languages. */
export function allPrompts(set: PromptSet, languages: readonly string[]): string[] {
  const out = new Set<string>();
  for (const lang of languages) for (const c of set.classes) for (const p of promptsFor(set, c, lang)) out.add(p);
  return [...out];
}

/** Built-in prompt set ids (fixtures/prompts/<id>.json). */
export const BUILTIN_PROMPT_SETS = ["gender", "age", "occupation", "zero-shot", "denigration"] as const;
