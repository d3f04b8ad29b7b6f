import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasErrorCode } from "@siglip-edge/core";
import { compileKernels, loadKernels } from "../src/node.ts";
import { instantiateKernels } from "../src/kernels.ts";

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return hasErrorCode(e, "MODEL_LOAD_FAILED") ? e.code : String(e);
  }
  return undefined;
}

describe("loader", () => {
  it("instantiates a precompiled module (the workerd path) and keeps one growing memory", async () => {
    const module = await compileKernels();
    const k = await instantiateKernels(module, { initialMiB: 1 });
    expect(k.memory.buffer.byteLength).toBe(1 << 20);
    const ptr = k.arena.alloc(3 << 20); // past the initial size: the memory grows
    expect(ptr % 64).toBe(0);
    expect(k.memory.buffer.byteLength).toBeGreaterThanOrEqual(ptr + (3 << 20));
    const view = k.f32(ptr, 4);
    view.set([1, 2, 3, 4]);
    const mark = k.arena.mark();
    const tmp = k.arena.alloc(100);
    k.arena.release(mark);
    expect(k.arena.alloc(100)).toBe(tmp); // released scratch is reused
    expect(Array.from(k.f32(ptr, 4))).toEqual([1, 2, 3, 4]);
  });

  it("fails with MODEL_LOAD_FAILED for a missing file, bytes that are not wasm, and a module without the kernels", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kernels-"));
    writeFileSync(join(dir, "bad.wasm"), "not wasm");
    expect(await code(compileKernels(join(dir, "missing.wasm")))).toBe("MODEL_LOAD_FAILED");
    expect(await code(loadKernels({ path: join(dir, "bad.wasm") }))).toBe("MODEL_LOAD_FAILED");
    const empty = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    expect(await code(instantiateKernels(empty))).toBe("MODEL_LOAD_FAILED");
  });
});
