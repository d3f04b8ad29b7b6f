/**
 * Stage graphs (`convertCheckpoint(..., { stages })`): K consecutive graphs per tower that hold no weights of their
 * own (their external initializers point at the extents the tower's data file already has). That they compute the
 * unsplit graph's function, chained, is packages/runtime's test/stage-graphs.test.ts. The tiny presets have 2 layers
 * per tower, so the checkpoints here are the same presets with 3 layers (stages 2: layers [0,1) [1,3); stages 3: one
 * each).
 */
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasErrorCode, type BundleManifest } from "@siglip-edge/core";
import { readManifest } from "../src/bundle.ts";
import { convertCheckpoint } from "../src/convert.ts";
import type { WeightDType } from "../src/graphs/layers.ts";
import { sharedDataSink } from "../src/onnx/builder.ts";
import { removeTmp, STAGED_LAYERS, stagedBundle, stagedCheckpoint, tmpRoot } from "./fixtures.ts";

const LAYERS = STAGED_LAYERS;
afterAll(removeTmp);

// --- a minimal ONNX reader: the external-data entries of each initializer -------------------------------------

interface Field {
  no: number;
  wire: number;
  value: bigint | Uint8Array;
}

function* fields(b: Uint8Array): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[i++] as number;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 2) {
      const n = Number(varint());
      yield { no, wire, value: b.subarray(i, i + n) };
      i += n;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else throw new Error(`wire type ${wire}`);
  }
}

const sub = (f: Field): Uint8Array => f.value as Uint8Array;
const text = (f: Field): string => new TextDecoder().decode(sub(f));

interface Initializer {
  name: string;
  external: { location: string; offset: number; length: number } | null;
  rawBytes: number;
}

/** Initializers of an .onnx file: name, external extent (or null), inline byte count. */
function initializers(path: string): Initializer[] {
  const out: Initializer[] = [];
  for (const m of fields(new Uint8Array(readFileSync(path)))) {
    if (m.no !== 7) continue; // ModelProto.graph
    for (const g of fields(sub(m))) {
      if (g.no !== 5) continue; // GraphProto.initializer
      let name = "";
      let rawBytes = 0;
      const kv: Record<string, string> = {};
      for (const t of fields(sub(g))) {
        if (t.no === 8) name = text(t);
        if (t.no === 9) rawBytes = sub(t).length;
        if (t.no === 13) {
          let k = "";
          let v = "";
          for (const e of fields(sub(t))) {
            if (e.no === 1) k = text(e);
            if (e.no === 2) v = text(e);
          }
          kv[k] = v;
        }
      }
      const external = kv["location"] === undefined ? null : { location: kv["location"], offset: Number(kv["offset"]), length: Number(kv["length"]) };
      out.push({ name, external, rawBytes });
    }
  }
  return out;
}

for (const preset of ["tiny-fixres", "tiny-naflex"]) {
  describe(`stage graphs ${preset}`, () => {
    for (const dtype of ["fp32", "q4"] as WeightDType[]) {
      for (const K of [2, 3]) {
        it(`${dtype}, ${K} stages: the stages hold no weights; together they use every weight of the whole graph`, async () => {
          const dir = await stagedBundle(preset, dtype, K);
          const m = await readManifest(dir);
          expect(m.stages).toEqual({
            vision: Array.from({ length: K }, (_, i) => `vision.stage${i}.onnx`),
            textSplit: Array.from({ length: K }, (_, i) => `text_split.stage${i}.onnx`),
          });
          const stages = m.stages ?? { vision: [], textSplit: [] };
          const t = { vision: { graph: m.graphs.vision, stages: stages.vision }, textSplit: { graph: m.graphs.textSplit, stages: stages.textSplit } };
          for (const spec of Object.values(t)) {
            // Every external initializer of a stage is the same-named one of the whole graph: same file, same bytes.
            const wholeInit = new Map(initializers(join(dir, spec.graph)).map((i) => [i.name, i]));
            const dataFile = `${spec.graph}.data`;
            const dataBytes = (await stat(join(dir, dataFile))).size;
            const wholeBytes = (await stat(join(dir, spec.graph))).size;
            const used = new Set<string>();
            for (const file of spec.stages) {
              const inits = initializers(join(dir, file));
              const ext = inits.filter((i) => i.external !== null);
              expect(ext.length).toBeGreaterThan(0);
              for (const i of ext) {
                expect(i.external?.location).toBe(dataFile);
                expect(i.external).toEqual(wholeInit.get(i.name)?.external);
                used.add(i.name);
              }
              const bytes = (await stat(join(dir, file))).size;
              // No weight inside: only initializers of at most 1 KiB (biases, norms, constants) are inline, and the
              // stage graph is smaller than the whole graph's .onnx (itself without weights).
              expect(Math.max(0, ...inits.map((i) => i.rawBytes))).toBeLessThanOrEqual(1024);
              expect(bytes).toBeLessThan(wholeBytes);
              if (dtype === "fp32") expect(bytes).toBeLessThan(dataBytes / 4);
              expect(m.files.find((f) => f.path === file)).toMatchObject({ role: "onnx-stage", bytes });
            }
            // Together the stages use every weight of the whole graph that lives in the data file.
            expect([...used].sort()).toEqual([...wholeInit.values()].filter((i) => i.external !== null).map((i) => i.name).sort());
          }
        }, 60_000);
      }
    }

    it("adds only the stage .onnx files to the bundle; the data files are the unsplit bundle's, byte for byte", async () => {
      const one = await readManifest(await stagedBundle(preset, "fp32", 1));
      const two = await readManifest(await stagedBundle(preset, "fp32", 2));
      expect(one.stages).toBeUndefined();
      const total = (m: BundleManifest): number => m.files.reduce((a, f) => a + f.bytes, 0);
      const stageFiles = two.files.filter((f) => f.role === "onnx-stage");
      expect(stageFiles.map((f) => f.path).sort()).toEqual([...(two.stages?.vision ?? []), ...(two.stages?.textSplit ?? [])].sort());
      const extra = stageFiles.reduce((a, f) => a + f.bytes, 0);
      const dataBytes = two.files.filter((f) => f.role === "onnx-data").reduce((a, f) => a + f.bytes, 0);
      console.log(
        `[export stages] ${preset} fp32: bundle ${total(one)} B unsplit, ${total(two)} B with 2 stages (+${total(two) - total(one)} B = ${stageFiles.length} stage graphs; onnx data ${dataBytes} B)`,
      );
      expect(total(two) - total(one)).toBe(extra);
      for (const f of one.files) expect(two.files.find((g) => g.path === f.path)).toEqual(f);
    }, 60_000);
  });
}

describe("shared data sink", () => {
  it("refuses a name the data file lacks, a different length and different bytes", async () => {
    const dir = await stagedBundle("tiny-fixres", "fp32", 2);
    const whole = initializers(join(dir, "vision.onnx")).filter((i) => i.external !== null);
    const extents = new Map(whole.map((i) => [i.name, { offset: i.external?.offset ?? 0, length: i.external?.length ?? 0 }]));
    const first = whole[0];
    if (first?.external == null) throw new Error("no external initializer");
    const stored = new Uint8Array(readFileSync(join(dir, "vision.onnx.data")).subarray(first.external.offset, first.external.offset + first.external.length));
    const sink = sharedDataSink(join(dir, "vision.onnx.data"), "vision.onnx.data", extents);
    try {
      expect(sink.append(stored, first.name)).toEqual({ offset: first.external.offset, length: first.external.length });
      const code = (f: () => unknown): string | undefined => {
        try {
          f();
        } catch (e) {
          return hasErrorCode(e, "INTERNAL") ? (e as Error).message : undefined;
        }
        return undefined;
      };
      expect(code(() => sink.append(stored, "no.such.tensor"))).toContain("no.such.tensor is not in the data file");
      expect(code(() => sink.append(stored.subarray(4), first.name))).toContain("bytes, the data file holds");
      const changed = stored.slice();
      changed[0] = (changed[0] as number) ^ 1;
      expect(code(() => sink.append(changed, first.name))).toContain("differs from the bytes at offset");
    } finally {
      sink.close();
    }
  });
});

describe("stage count", () => {
  it("is a typed INVALID_ARGUMENT outside 1..layers", async () => {
    const ck = await stagedCheckpoint("tiny-fixres");
    for (const stages of [0, LAYERS + 1, 1.5, -1]) {
      const e = await convertCheckpoint(ck, join(await tmpRoot(), `bad-${stages}`), { stages }).catch((x: unknown) => x);
      expect(hasErrorCode(e, "INVALID_ARGUMENT")).toBe(true);
      expect((e as Error).message).toContain(`from 1 to ${LAYERS}`);
    }
  });
});
