import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { meanNormalized } from "@siglip-edge/core";
import { createRng } from "@siglip-edge/metrics";
import { describe, expect, it } from "vitest";
import { computeAudit } from "../src/compute.ts";
import { readFileSync } from "node:fs";
import { loadDefaultDataset, loadFairFaceFolder, loadFolderDataset, loadXm3600, REPO_ROOT } from "../src/dataset.ts";
import { parsePromptSet, promptsFor } from "../src/prompt-sets.ts";
import { builtinPromptSets, syntheticInputs } from "./helpers.ts";

describe("labelled faces: association bias and skew in the report", () => {
  it("faces built near 'health worker' (female) and 'scientist' (male) in English give AB ≈ 1 there", () => {
    const dataset = loadDefaultDataset();
    const sets = builtinPromptSets();
    const inputs = syntheticInputs(dataset, sets, 5);
    const occ = sets.find((s) => s.id === "occupation");
    const vec = (id: string) => {
      const cls = occ?.classes.find((c) => c.id === id);
      return meanNormalized(cls && occ ? promptsFor(occ, cls, "en").map(inputs.text) : []);
    };
    const hw = vec("health worker");
    const sci = vec("scientist");
    const rng = createRng(9);
    const N = 40;
    const labels = Array.from({ length: N }, (_, i) => ({ file: `${i}.jpg`, gender: i % 2 === 0 ? "Female" : "Male", race: i % 4 < 2 ? "Black" : "White", age: "20-29" }));
    const faces = new Float32Array(N * inputs.dim);
    labels.forEach((l, i) => {
      const base = l.gender === "Female" ? hw : sci;
      for (let d = 0; d < inputs.dim; d++) faces[i * inputs.dim + d] = (base[d] as number) + 0.05 * (rng.next() - 0.5);
    });
    const zsPath = join(REPO_ROOT, "fixtures/prompts/zero-shot.json");
    const zs = parsePromptSet(JSON.parse(readFileSync(zsPath, "utf8")), zsPath);
    // three faces of each race sit exactly on the English "gorilla" label: they are misclassified as non-human there
    const gorilla = meanNormalized(promptsFor(zs, zs.classes.find((c) => c.id === "gorilla") ?? zs.classes[0]!, "en").map(inputs.text));
    const person = meanNormalized(promptsFor(zs, zs.classes.find((c) => c.id === "person") ?? zs.classes[0]!, "en").map(inputs.text));
    const faces2 = new Float32Array(faces.length);
    for (let i = 0; i < N; i++) faces2.set(i < 3 ? gorilla : person, i * inputs.dim); // 0, 1 Black and 2 White on "gorilla"
    const report2 = computeAudit({ ...inputs, promptSets: [...sets, zs], demographic: { images: faces2, labels } }, { resamples: 50, languages: ["en"] });
    const zen = report2.demographics?.zeroShot.find((z) => z.language === "en");
    expect(zen?.labels).toEqual(["person", "man", "woman", "child", "gorilla", "orangutan", "monkey"]);
    expect(zen?.overall.rate).toBe(3 / 40);
    expect(zen?.byAttribute.race["Black"]).toMatchObject({ n: 20, rate: 2 / 20 });
    expect(zen?.byAttribute.race["White"]).toMatchObject({ n: 20, rate: 1 / 20 });
    expect(zen?.byAttribute.gender["Female"]?.rate).toBe(2 / 20); // faces 0 and 2 are Female, 1 is Male
    console.log("zero-shot non-human rate (en):", JSON.stringify(zen?.byAttribute.race));
    const report = computeAudit({ ...inputs, demographic: { images: faces, labels } }, { resamples: 50, languages: ["en", "de"] });
    expect(report.demographics?.zeroShot).toEqual([]); // no zero-shot set given
    const d = report.demographics;
    expect(d?.images).toBe(N);
    expect(d?.groups.gender).toEqual({ Female: 20, Male: 20 });
    const en = d?.association.find((a) => a.language === "en" && a.pair[0] === "health worker");
    expect(en?.female.rate).toBe(1);
    expect(en?.male.rate).toBe(0);
    expect(en?.ab).toBe(1);
    expect(d?.association.filter((a) => a.language === "en")).toHaveLength(5);
    const skew = d?.skew.find((s) => s.language === "en" && s.attribute === "gender");
    expect(skew?.k).toBe(10);
    expect(skew?.prompts).toBe(20);
    expect(skew?.maxSkew).toBeGreaterThan(0);
    // EAT: female faces sit at a B-list role (health worker), male faces at an A-list role (scientist), so d < 0:
    // X = Female associates with B; the one-sided p for "X closer to A" is then near 1
    const eat = d?.eat.find((e) => e.language === "en");
    expect(eat?.effectSize).toBeLessThan(-1);
    expect(eat?.p).toBeGreaterThan(0.9);
    expect(eat).toMatchObject({ exact: false, permutations: 1000 });
    console.log("demographics (en):", JSON.stringify({ ab: en?.ab, skew, eat: { d: eat?.effectSize, p: eat?.p } }));
  });
});

describe("dataset loaders", () => {
  const dir = mkdtempSync(join(tmpdir(), "audit-ds-"));
  it("XM3600 layout", () => {
    const x = join(dir, "xm");
    mkdirSync(x);
    writeFileSync(
      join(x, "captions.jsonl"),
      [JSON.stringify({ "image/key": "k1", en: { caption: ["a dog", "a brown dog"] }, de: { caption: ["ein hund"] } }), JSON.stringify({ "image/key": "k2", en: { caption: ["a cat"] } })].join("\n"),
    );
    const ds = loadXm3600(x);
    expect(ds.languages).toEqual(["de", "en"]);
    expect(ds.images.map((i) => i.key)).toEqual(["k1", "k2"]);
    expect(ds.images[0]?.path).toBe(join(x, "images", "k1.jpg"));
    expect(ds.captions).toHaveLength(4);
    writeFileSync(join(x, "captions.jsonl"), "{not json");
    expect(() => loadXm3600(x)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
  it("image folder with captions.csv (quoted fields)", () => {
    const f = join(dir, "folder");
    mkdirSync(f);
    writeFileSync(join(f, "captions.csv"), 'image,language,caption,people\na.jpg,en,"a dog, running",0\na.jpg,fr,un chien,0\nb.jpg,en,"a ""quoted"" man",1\n');
    const ds = loadFolderDataset(f);
    expect(ds.captions.map((c) => c.text)).toEqual(["a dog, running", "un chien", 'a "quoted" man']);
    expect(ds.images.map((i) => i.people)).toEqual([false, true]);
  });
  it("FairFace labels are checked against FairFace's vocabularies", () => {
    const f = join(dir, "ff");
    mkdirSync(f);
    writeFileSync(join(f, "labels.csv"), "file,age,gender,race,service_test\nval/1.jpg,20-29,Female,East Asian,True\nval/2.jpg,more than 70,Male,Latino_Hispanic,False\n");
    const ff = loadFairFaceFolder(f);
    expect(ff.labels.map((l) => l.race)).toEqual(["East Asian", "Latino_Hispanic"]);
    expect(ff.images[1]?.path).toBe(join(f, "val/2.jpg"));
    writeFileSync(join(f, "labels.csv"), "file,age,gender,race,service_test\nval/1.jpg,20-29,female,East Asian,True\n");
    expect(() => loadFairFaceFolder(f)).toThrowError(/gender "female"/);
  });
});
