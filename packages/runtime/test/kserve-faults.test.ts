/**
 * Fault injection against the KServe client over real HTTP on 127.0.0.1: backend down, refusing, slow past the
 * deadline, 500s, garbage, truncated bodies and binary sections, wrong shapes and dtypes, flapping. Each ends in the
 * documented typed error (and HTTP status via `backendErrorStatus`), the breaker opens and recovers, a burst of 200
 * requests is shed beyond the queue, nothing hangs and no promise rejection goes unhandled.
 */
import { hasErrorCode, isSiglipError, tensor, type ErrorCode } from "@siglip-edge/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { backendErrorStatus, KServeClient, type KServeClientOptions } from "../src/kserve/client.ts";
import { KServeTowers } from "../src/kserve/remote-towers.ts";
import { ModelPipeline } from "../src/model-pipeline.ts";
import { fsBundleSource } from "../src/node/index.ts";
import type { BundleManifest } from "@siglip-edge/core";
import type { Tokenizer } from "@siglip-edge/tokenizer";
import { deadUrl, startFaultServer, type FaultServer } from "./kserve-fault-server.ts";

let srv: FaultServer;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  srv = await startFaultServer();
  process.on("unhandledRejection", onUnhandled);
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await srv.close();
});
afterEach(() => {
  srv.fault = "ok";
  srv.release();
});

const feeds = (B = 2) => ({ input_ids: tensor("int64", [B, 4], new BigInt64Array(B * 4)) });

function client(o: Partial<KServeClientOptions> = {}): KServeClient {
  // Generous limits for the good answers (a loaded 2-core CI machine); the timeout cases set their own small ones.
  return new KServeClient({ url: srv.url, deadlineMs: 8000, connectTimeoutMs: 5000, readTimeoutMs: 3000, retries: 2, backoffBaseMs: 5, backoffMaxMs: 20, ...o });
}

/** Runs `fn`, returns the error code it fails with (and logs how long that took). */
async function failsWith(what: string, fn: () => Promise<unknown>): Promise<{ code: ErrorCode; retryAfter: unknown; message: string }> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    if (!isSiglipError(err)) throw err;
    console.log(`${what}: ${err.code} -> HTTP ${backendErrorStatus(err.code) ?? "?"} after ${(performance.now() - t0).toFixed(0)} ms (${err.message})`);
    return { code: err.code, retryAfter: err.details?.["retryAfterSeconds"], message: err.message };
  }
  throw new Error(`${what}: expected a failure`);
}

describe("each fault gives its documented error", () => {
  const cases: [string, () => Promise<unknown>, ErrorCode, 502 | 503 | 504][] = [
    ["backend down (connection refused)", async () => new KServeClient({ url: await deadUrl(), retries: 1, backoffBaseMs: 1 }).infer("m", feeds()), "BACKEND_UNAVAILABLE", 503],
    ["500", () => ((srv.fault = "500"), client().infer("m", feeds())), "BACKEND_BAD_RESPONSE", 502],
    ["503 on every attempt", () => ((srv.fault = "503"), client().infer("m", feeds())), "BACKEND_UNAVAILABLE", 503],
    ["400 (contract mismatch)", () => ((srv.fault = "400"), client().infer("m", feeds())), "BACKEND_BAD_RESPONSE", 502],
    ["garbage body", () => ((srv.fault = "garbage"), client().infer("m", feeds())), "BACKEND_BAD_RESPONSE", 502],
    ["bad JSON header", () => ((srv.fault = "bad-json-header"), client().infer("m", feeds())), "BACKEND_BAD_RESPONSE", 502],
    ["connection cut mid-body", () => ((srv.fault = "cut-body"), client().infer("m", feeds())), "BACKEND_BAD_RESPONSE", 502],
    ["truncated binary section", () => ((srv.fault = "truncated-binary"), client().infer("m", feeds())), "BACKEND_BAD_RESPONSE", 502],
    ["no answer (connect timeout)", () => ((srv.fault = "stall-headers"), client({ connectTimeoutMs: 200 }).infer("m", feeds())), "BACKEND_TIMEOUT", 504],
    ["body stalls (read timeout)", () => ((srv.fault = "stall-body"), client({ readTimeoutMs: 200 }).infer("m", feeds())), "BACKEND_TIMEOUT", 504],
    ["slow past the deadline", () => ((srv.fault = "stall-headers"), client({ deadlineMs: 250, connectTimeoutMs: 5000 }).infer("m", feeds())), "BACKEND_TIMEOUT", 504],
  ];
  for (const [what, fn, code, status] of cases) {
    it(what, async () => {
      const e = await failsWith(what, fn);
      expect(e.code).toBe(code);
      expect(backendErrorStatus(e.code)).toBe(status);
      if (code !== "BACKEND_BAD_RESPONSE") expect(e.retryAfter).toBeTypeOf("number");
    });
  }

  it("the 503 and timeout errors carry a retryAfterSeconds detail, the deadline names its limit", async () => {
    srv.fault = "stall-headers";
    const t = await client({ deadlineMs: 150, connectTimeoutMs: 5000 })
      .infer("m", feeds())
      .catch((e: unknown) => e);
    expect(hasErrorCode(t, "BACKEND_TIMEOUT") && t.details?.["limit"]).toBe("deadline");
  });
});

describe("wrong shapes and dtypes never reach the caller", () => {
  const manifest = {
    format: "siglip-edge-bundle",
    version: 1,
    checkpoint: { id: "test/fault", revision: "r1" },
    family: "fixres",
    modelType: "siglip2",
    dtype: "fp32",
    sizes: {
      embedDim: 4,
      text: { hiddenSize: 4, intermediateSize: 8, numLayers: 1, numHeads: 1, layerNormEps: 1e-6, vocabSize: 10, maxPositions: 4, projectionSize: 4 },
      vision: { hiddenSize: 4, intermediateSize: 8, numLayers: 1, numHeads: 1, layerNormEps: 1e-6, numChannels: 3, imageSize: 2, patchSize: 1, numPositions: 4 },
    },
    preprocessing: { kind: "fixres", imageSize: 2, resample: "bilinear", rescaleFactor: 1 / 255, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5] },
    text: { maxLength: 4, tokenizer: null, padId: 0, eosId: 1 },
    logitScale: 0,
    logitBias: 0,
    graphs: { vision: "v.onnx", text: "t.onnx", textSplit: "s.onnx" },
    tokenTable: { file: "tt.bin", dtype: "float32", rows: 10, dim: 4, scales: null },
    positionGrid: null,
    files: [],
  } satisfies BundleManifest;
  const tokenizer = { encode: () => Int32Array.from([2, 3, 1, 0]) } as unknown as Tokenizer; // a stand-in: no vocabulary needed
  const pipeline = () =>
    new ModelPipeline({ manifest, source: fsBundleSource("/nonexistent"), towers: new KServeTowers({ client: client(), remoteName: "m", checkContract: false }, { manifest }), tokenizer: async () => tokenizer });

  it("a good answer gives one [D] vector per input", async () => {
    const r = await pipeline().embedTexts(["a", "b", "c"]);
    expect(r.embeddings.map((v) => Array.from(v))).toEqual([[0.5, 0.5, 0.5, 0.5], [1.5, 1.5, 1.5, 1.5], [2.5, 2.5, 2.5, 2.5]]);
    expect(r.tokens).toBe(9);
  });

  for (const f of ["wrong-shape", "wrong-dtype"] as const) {
    it(f, async () => {
      srv.fault = f;
      const e = await failsWith(f, () => pipeline().embedImages([{ width: 2, height: 2, channels: 3, data: new Uint8Array(12) }]));
      expect(e.code).toBe("BACKEND_BAD_RESPONSE");
      expect(e.message).toMatch(/expected float32 \[1, 4\]/);
    });
  }
});

describe("retries only where safe", () => {
  it("a 503 is retried (Retry-After honoured) and the call succeeds", async () => {
    const before = srv.requests;
    srv.fault = (n) => (n === before ? "503" : "ok");
    const r = await client().infer("m", feeds());
    expect(r.outputs["pooler_output"]?.dims).toEqual([2, 4]);
    expect(srv.requests - before).toBe(2);
  });

  it("a 500, a garbage body or a timeout is not retried (the backend may have done the work)", async () => {
    for (const f of ["500", "garbage", "stall-body"] as const) {
      const before = srv.requests;
      srv.fault = f;
      await client({ readTimeoutMs: 300 }).infer("m", feeds()).catch(() => undefined);
      expect(srv.requests - before, f).toBe(1);
    }
  });

  it("a refused connection is retried with backoff, then reported", async () => {
    let calls = 0;
    const url = await deadUrl();
    const c = new KServeClient({ url, retries: 3, backoffBaseMs: 1, backoffMaxMs: 4, fetch: (i, init) => (calls++, fetch(i, init)) });
    const e = await failsWith("refused x4", () => c.infer("m", feeds()));
    expect(e.code).toBe("BACKEND_UNAVAILABLE");
    expect(calls).toBe(4);
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures, fails fast while open, probes after the cooldown and closes", async () => {
    let now = 0;
    const c = client({ retries: 0, breaker: { failureThreshold: 3, cooldownMs: 1000, now: () => now } });
    srv.fault = "500";
    for (let i = 0; i < 3; i++) await c.infer("m", feeds()).catch(() => undefined);
    expect(c.breakerState).toBe("open");
    const before = srv.requests;
    const fast = await failsWith("breaker open", () => c.infer("m", feeds()));
    expect(fast.code).toBe("BACKEND_UNAVAILABLE");
    expect(fast.retryAfter).toBe(1);
    expect(srv.requests).toBe(before); // nothing was sent
    now = 1500;
    expect(c.breakerState).toBe("half-open");
    srv.fault = "500"; // a failed probe opens it again
    await c.infer("m", feeds()).catch(() => undefined);
    expect(c.breakerState).toBe("open");
    now = 3000;
    srv.fault = "ok";
    await c.infer("m", feeds());
    expect(c.breakerState).toBe("closed");
    expect(c.breaker.opened).toBe(2);
  });

  it("a flapping backend (fail, succeed, fail, ...) keeps it closed; a run of failures opens it", async () => {
    const c = client({ retries: 0, breaker: { failureThreshold: 3, cooldownMs: 60_000 } });
    const start = srv.requests;
    srv.fault = (n) => ((n - start) % 2 === 0 ? "500" : "ok");
    let ok = 0;
    for (let i = 0; i < 10; i++) if (await c.infer("m", feeds()).then(() => true, () => false)) ok++;
    expect(ok).toBe(5);
    expect(c.breakerState).toBe("closed");
    srv.fault = "garbage";
    for (let i = 0; i < 3; i++) await c.infer("m", feeds()).catch(() => undefined);
    expect(c.breakerState).toBe("open");
  });

  it("health probes go through the same breaker and report a status, not an exception", async () => {
    srv.fault = "ok";
    const c = client();
    expect(await c.live()).toBe(true);
    srv.fault = "503";
    expect(await c.ready()).toBe(false);
  });
});

describe("load shedding", () => {
  it("a burst of 200 concurrent requests: 4 run, 16 queue, 180 are shed at once with OVERLOADED; the rest succeed", async () => {
    const c = client({ maxConcurrent: 4, maxQueued: 16, deadlineMs: 5000 });
    srv.fault = "hold";
    const results = Array.from({ length: 200 }, () => c.infer("m", feeds(1)).then(() => "ok" as const, (e: unknown) => (hasErrorCode(e, "OVERLOADED") ? ("shed" as const) : e)));
    // The shed ones settle without any server answer: wait until the held requests reach the server.
    for (let i = 0; i < 100 && srv.requests < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.limiter.active).toBe(4);
    expect(c.limiter.queued).toBe(16);
    expect(c.limiter.shed).toBe(180);
    for (let i = 0; i < 100 && (c.limiter.active > 0 || c.limiter.queued > 0); i++) {
      srv.release();
      await new Promise((r) => setTimeout(r, 10));
    }
    const all = await Promise.all(results);
    const shed = all.filter((r) => r === "shed").length;
    const ok = all.filter((r) => r === "ok").length;
    console.log(`burst of 200: ${ok} served, ${shed} shed with OVERLOADED (HTTP ${backendErrorStatus("OVERLOADED")}), ${200 - ok - shed} other`);
    expect(shed).toBe(180);
    expect(ok).toBe(20);
  });

  it("a queued request whose deadline passes leaves the queue with BACKEND_TIMEOUT", async () => {
    const c = client({ maxConcurrent: 1, maxQueued: 4, deadlineMs: 200, connectTimeoutMs: 5000 });
    srv.fault = "hold";
    const first = c.infer("m", feeds(1)).catch((e: unknown) => e);
    const queued = await failsWith("queued past deadline", () => c.infer("m", feeds(1)));
    expect(queued.code).toBe("BACKEND_TIMEOUT");
    expect(hasErrorCode(await first, "BACKEND_TIMEOUT")).toBe(true);
    expect(c.limiter.queued).toBe(0);
    expect(c.limiter.active).toBe(0);
  });
});

describe("hygiene", () => {
  it("no unhandled rejection was raised by any test above", () => {
    expect(unhandled).toEqual([]);
  });
});
