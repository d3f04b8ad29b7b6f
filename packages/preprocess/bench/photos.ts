/** The fixture photos (fixtures/photos/manifest.json) as bytes, for the benchmarks. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function loadPhotos(): { file: string; bytes: Uint8Array }[] {
  const dir = join(REPO, "fixtures", "photos");
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { file: string }[];
  return manifest.map((e) => ({ file: e.file, bytes: new Uint8Array(readFileSync(join(dir, e.file))) }));
}
