/**
 * Offsets past 4 GB: a sparse safetensors file (a 4 GiB + 64 B leading tensor that occupies no disk) followed by a
 * small tensor; the reader must find and read the small one at its 64-bit offset.
 */
import { open, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readSafetensorsHeader, readTensorF32 } from "../src/safetensors.ts";

const root = await mkdtemp(join(tmpdir(), "siglip-st-large-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("safetensors beyond 4 GB", () => {
  it("reads a tensor stored after a 4 GiB tensor (64-bit offsets, positioned reads)", async () => {
    const bigElems = 2 ** 30 + 16; // 4 GiB + 64 B of float32
    const header = JSON.stringify({
      big: { dtype: "F32", shape: [bigElems], data_offsets: [0, bigElems * 4] },
      small: { dtype: "BF16", shape: [2, 2], data_offsets: [bigElems * 4, bigElems * 4 + 8] },
    });
    const padded = header + " ".repeat((8 - ((8 + header.length) % 8)) % 8);
    const path = join(root, "large.safetensors");
    const fh = await open(path, "w");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(padded.length));
    await fh.write(len, 0, 8, 0);
    await fh.write(Buffer.from(padded), 0, padded.length, 8);
    const small = new Uint16Array([0x3f80, 0xc000, 0x4040, 0x3e80]); // bf16: 1, -2, 3, 0.25
    const dataStart = 8 + padded.length;
    await fh.write(new Uint8Array(small.buffer), 0, 8, dataStart + bigElems * 4);
    await fh.close();
    const tensors = await readSafetensorsHeader(path);
    const info = tensors.get("small");
    expect(info?.offset).toBe(dataStart + bigElems * 4);
    expect(info?.offset).toBeGreaterThan(2 ** 32);
    expect(Array.from(await readTensorF32(info as NonNullable<typeof info>))).toEqual([1, -2, 3, 0.25]);
  });
});
