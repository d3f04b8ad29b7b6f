import { describe, expect, it } from "vitest";
import { BufferPool } from "../src/buffer-pool.ts";

describe("BufferPool", () => {
  it("hands out given-back buffers per length, never one that is taken, two per length, within maxBytes", () => {
    const pool = new BufferPool(1600);
    const a = pool.take(100);
    const b = pool.take(100); // a is taken: a new one
    expect(b).not.toBe(a);
    pool.give(a);
    expect(pool.take(100)).toBe(a);
    const c = pool.take(100);
    pool.give(a);
    pool.give(b);
    pool.give(c); // two kept per length: the oldest given (a) is dropped
    expect(pool.heldBytes).toBe(800);
    const got = [pool.take(100), pool.take(100)];
    expect(got.includes(b) && got.includes(c)).toBe(true);
    expect(pool.take(100)).not.toBe(a);
    pool.give(b);
    pool.give(c);
    const d = pool.take(200);
    pool.give(d);
    expect(pool.heldBytes).toBe(1600);
    const e = pool.take(50);
    pool.give(e); // over 1600 bytes: the least recently given length (100) goes
    expect(pool.heldBytes).toBe(1000);
    expect(pool.take(200)).toBe(d);
  });
});
