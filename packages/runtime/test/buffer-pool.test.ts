import { describe, expect, it } from "vitest";
import { BufferPool } from "../src/buffer-pool.ts";

describe("BufferPool", () => {
  it("gives back the same buffer per length, never one that is taken, and keeps at most maxBytes", () => {
    const pool = new BufferPool(3 * 400);
    const a = pool.take(100);
    const b = pool.take(100); // a is taken: a new one
    expect(b).not.toBe(a);
    pool.give(a);
    expect(pool.take(100)).toBe(a);
    pool.give(a);
    pool.give(b); // same length: the newer replaces the older
    expect(pool.heldBytes).toBe(400);
    const c = pool.take(200);
    pool.give(c);
    expect(pool.heldBytes).toBe(1200);
    const d = pool.take(50);
    pool.give(d); // over 1200 bytes: the oldest (length 100) goes
    expect(pool.heldBytes).toBe(1000);
    expect(pool.take(100)).not.toBe(b);
    expect(pool.take(200)).toBe(c);
  });
});
