/**
 * Writes fixtures/fairface-standin/: a small folder laid out as FairFace's is (fairface_label_val.csv with FairFace's
 * header `file,age,gender,race,service_test` and `val/<n>.jpg` images), so `--fairface DIR` can be tried and tested
 * here, where FairFace itself cannot be downloaded. The images are SYNTHETIC (seeded colour gradients and noise,
 * 48 x 48 JPEG): they show no person, and their labels are assigned by index, every FairFace race x gender x three
 * age bins once. Numbers computed on it describe no demographic group. Deterministic: `npm run gen:fairface-standin
 * -w @siglip-edge/audit`.
 * @module
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRng } from "@siglip-edge/metrics";
import { encodeJpeg } from "../src/node/thumbnails.ts";
import { FAIRFACE_RACES } from "../src/dataset.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const OUT = join(ROOT, "fixtures/fairface-standin");
const AGES = ["3-9", "20-29", "50-59"];
const SIDE = 48;

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, "val"), { recursive: true });
  const rows = ["file,age,gender,race,service_test"];
  let n = 0;
  for (const race of FAIRFACE_RACES) {
    for (const gender of ["Male", "Female"]) {
      for (const age of AGES) {
        n++;
        const rng = createRng(1000 + n);
        const [r0, g0, b0] = [rng.int(256), rng.int(256), rng.int(256)];
        const rgb = new Uint8Array(SIDE * SIDE * 3);
        for (let y = 0; y < SIDE; y++) {
          for (let x = 0; x < SIDE; x++) {
            const p = 3 * (y * SIDE + x);
            const noise = rng.int(32);
            rgb[p] = (r0 + 3 * x + noise) & 255;
            rgb[p + 1] = (g0 + 3 * y + noise) & 255;
            rgb[p + 2] = (b0 + 2 * (x + y)) & 255;
          }
        }
        writeFileSync(join(OUT, "val", `${n}.jpg`), await encodeJpeg(rgb, SIDE, SIDE, 90));
        rows.push(`val/${n}.jpg,${age},${gender},${race},True`);
      }
    }
  }
  writeFileSync(join(OUT, "fairface_label_val.csv"), rows.join("\n") + "\n");
  writeFileSync(
    join(OUT, "README.md"),
    `# FairFace stand-in (synthetic)

A folder laid out as FairFace's validation set is (\`fairface_label_val.csv\`, header \`file,age,gender,race,service_test\`,
images under \`val/\`), for trying and testing \`siglip audit run --fairface fixtures/fairface-standin\` where FairFace
itself cannot be downloaded. **The ${n} images are synthetic** (seeded colour gradients with noise, ${SIDE} x ${SIDE} JPEG): they
show no person. Labels are assigned by index: each of FairFace's 7 races x 2 genders once in each of the age bins
${AGES.join(", ")}. Numbers computed on this folder describe no demographic group; for the real test point \`--fairface\`
at a FairFace download (\`fairface_label_val.csv\` beside \`val/\`).

Written by \`apps/audit/scripts/gen-fairface-standin.ts\` (\`npm run gen:fairface-standin -w @siglip-edge/audit\`).
Licence: this repository's (generated data; the label vocabulary is FairFace's, CC-BY-4.0).
`,
  );
  console.log(`wrote ${OUT}: ${n} synthetic images + fairface_label_val.csv`);
}

await main();
