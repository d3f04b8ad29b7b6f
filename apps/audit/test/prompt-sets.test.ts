import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDefaultDataset, REPO_ROOT } from "../src/dataset.ts";
import { XM3600_LANGUAGES } from "../src/languages.ts";
import { allPrompts, parsePromptSet, promptsFor } from "../src/prompt-sets.ts";
import { builtinPromptSets } from "./helpers.ts";

describe("prompt sets (fixtures/prompts)", () => {
  it("every built-in set parses, covers the 36 XM3600 languages and records provenance", () => {
    for (const set of builtinPromptSets()) {
      expect(set.languages).toEqual([...XM3600_LANGUAGES]);
      expect(set.provenance.source).toMatch(/CLDR/);
      expect(set.provenance.license).toMatch(/Unicode-3\.0/);
      const names = set.classes.reduce((n, c) => n + Object.keys(c.names).length, 0);
      console.log(`prompt set ${set.id}: ${set.classes.length} classes, ${names} names, ${allPrompts(set, XM3600_LANGUAGES).length} distinct prompts`);
    }
    const gender = builtinPromptSets()[0];
    const man = gender?.classes.find((c) => c.id === "man");
    const woman = gender?.classes.find((c) => c.id === "woman");
    expect(Object.keys(man?.names ?? {}).length).toBe(36);
    expect(Object.keys(woman?.names ?? {}).length).toBe(36);
    // CLDR short names (tts), lower-cased: de "Mann", fr "femme", ja "男性"
    expect(man?.names["de"]).toBe("mann");
    expect(woman?.names["fr"]).toBe("femme");
    expect(man?.names["ja"]).toBe("男性");
    if (gender && man) expect(promptsFor(gender, man, "de")).toEqual(["mann", "foto: mann"]);
  });

  it("the generator's output is up to date with its committed schema", () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "apps/audit/schema/prompt-set.schema.json"), "utf8")) as { required: string[] };
    for (const id of ["gender", "age", "occupation"]) {
      const raw = JSON.parse(readFileSync(join(REPO_ROOT, "fixtures/prompts", `${id}.json`), "utf8")) as Record<string, unknown>;
      for (const key of schema.required) expect(raw).toHaveProperty(key);
    }
  });

  it("rejects malformed user sets with typed errors", () => {
    const good = { schemaVersion: 1, id: "mine", attribute: "x", languages: ["en"], templates: { en: ["a {}"] }, classes: [{ id: "a", group: "g1", names: { en: "a" } }, { id: "b", group: "g2", names: { en: "b" } }], provenance: { source: "me", license: "CC0" } };
    expect(parsePromptSet(good).id).toBe("mine");
    const bad = (patch: Record<string, unknown>) => () => parsePromptSet({ ...good, ...patch });
    expect(bad({ schemaVersion: 2 })).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(bad({ templates: { en: ["no slot"] } })).toThrowError(/\{\}/);
    expect(bad({ classes: [good.classes[0]] })).toThrowError(/two classes/);
    expect(bad({ pairs: [["a", "zzz"]] })).toThrowError(/class ids/);
    expect(bad({ provenance: {} })).toThrowError(/provenance/);
    expect(bad({ extra: 1 })).toThrowError(/unknown field/);
  });
});

describe("embedded default dataset", () => {
  it("references committed fixture photos and captions every image in the 36 languages", () => {
    const ds = loadDefaultDataset();
    expect(ds.languages).toEqual([...XM3600_LANGUAGES]);
    for (const im of ds.images) expect(existsSync(im.path), im.path).toBe(true);
    const coverage = Object.fromEntries(XM3600_LANGUAGES.map((lang) => [lang, new Set(ds.captions.filter((c) => c.language === lang).map((c) => c.image)).size]));
    // CLDR 48 names every concept in 35 languages; Maori (mi) lacks 10 of them.
    const partial = Object.entries(coverage).filter(([, n]) => n < ds.images.length);
    expect(partial).toEqual([["mi", 33]]);
    console.log("default dataset captioned images per language:", JSON.stringify(coverage));
    console.log(`default dataset: ${ds.images.length} images, ${ds.captions.length} captions, ${ds.images.filter((i) => !i.people).length} without people`);
  });
});

describe("generator", () => {
  it("the committed fixtures/prompts files are exactly what scripts/gen-prompts.ts builds from cldr-annotations-full", async () => {
    const { sets } = await import("../scripts/gen-prompts.ts");
    for (const [id, set] of Object.entries(sets)) {
      expect(readFileSync(join(REPO_ROOT, "fixtures/prompts", `${id}.json`), "utf8"), id).toBe(JSON.stringify(set, null, 1) + "\n");
    }
  });
});
