/** Bundle files on the local filesystem (`siglip serve`, `siglip embed`, tests). */
import { open, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import type { BundleSource } from "../bundle-source.ts";

export function fsBundleSource(dir: string): BundleSource {
  const root = resolve(dir);
  const at = (path: string) => {
    const full = resolve(root, path);
    if (!full.startsWith(root)) throw new SiglipError("INVALID_ARGUMENT", `bundle path ${path} escapes ${root}`);
    return full;
  };
  const wrap = async <T>(path: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") throw new SiglipError("NOT_FOUND", `bundle file ${join(root, path)} not found`, { cause });
      throw cause;
    }
  };
  return {
    location: `${root}/`,
    read: (path) => wrap(path, async () => new Uint8Array(await readFile(at(path)))),
    readRange: (path, offset, length) =>
      wrap(path, async () => {
        const fh = await open(at(path), "r");
        try {
          const buf = new Uint8Array(length);
          const { bytesRead } = await fh.read(buf, 0, length, offset);
          if (bytesRead !== length) throw new SiglipError("INTEGRITY_MISMATCH", `${path}: short read at ${offset}+${length}`);
          return buf;
        } finally {
          await fh.close();
        }
      }),
    localPath: at,
  };
}
