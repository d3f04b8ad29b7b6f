import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors.ts";
import { FifoGate } from "../../src/gate.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("FifoGate", () => {
  it("runs one request at a time, in arrival order, and sheds beyond the queue", async () => {
    const gate = new FifoGate(2, { pollMs: 1 });
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const job = (name: string) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(`start ${name}`);
      await tick(5);
      order.push(`end ${name}`);
      running--;
      return name;
    };
    const a = gate.run(job("a"), "t");
    const b = gate.run(job("b"), "t");
    const c = gate.run(job("c"), "t");
    await expect(gate.run(job("d"), "t")).rejects.toMatchObject({ code: "OVERLOADED" }); // a runs, b and c wait
    expect(await Promise.all([a, b, c])).toEqual(["a", "b", "c"]);
    expect(most).toBe(1);
    expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(gate.shed).toBe(1);
    expect(await gate.run(job("e"), "t")).toBe("e"); // empty again
  });

  it("skips a waiter whose caller went away, and frees a failed run's turn", async () => {
    const gate = new FifoGate(8, { pollMs: 1 });
    const ac = new AbortController();
    const first = gate.run(() => tick(10).then(() => "first"), "t");
    const gone = gate.run(async () => "never", "t", ac.signal);
    const failing = gate.run(async () => Promise.reject(new Error("boom")), "t");
    const last = gate.run(async () => "last", "t");
    ac.abort();
    await expect(gone).rejects.toMatchObject({ code: "OVERLOADED" });
    expect(await first).toBe("first");
    await expect(failing).rejects.toThrow("boom");
    expect(await last).toBe("last");
  });

  it("takes back a turn that was never released (a run cancelled before its finally)", async () => {
    const gate = new FifoGate(8, { pollMs: 1, staleMs: 30 });
    void gate.run(() => new Promise<never>(() => {}), "t"); // holds its turn forever
    expect(await gate.run(async () => "after", "t")).toBe("after");
  });

  it("runs up to `concurrency` at once, starting them in arrival order, with the caller's overloaded error", async () => {
    const gate = new FifoGate(1, { pollMs: 1, concurrency: 2, overloaded: (m) => new ApiError("overloaded", m, { retryAfter: 1 }) });
    let running = 0;
    let most = 0;
    const started: string[] = [];
    const job = (name: string, ms: number) => async () => {
      running++;
      most = Math.max(most, running);
      started.push(name);
      await tick(ms);
      running--;
      return name;
    };
    const runs = [gate.run(job("a", 20), "t"), gate.run(job("b", 5), "t"), gate.run(job("c", 5), "t")];
    await expect(gate.run(job("d", 1), "t")).rejects.toBeInstanceOf(ApiError); // a and b run, c waits, d is shed
    expect(await Promise.all(runs)).toEqual(["a", "b", "c"]);
    expect(most).toBe(2);
    expect(started).toEqual(["a", "b", "c"]);
  });
});
