/**
 * Lingering close (limits.ts LINGER): a 64 MB body posted by clients that write everything before reading gets the
 * JSON error, 413 over the 20 MB cap (declared length and chunked), 415 and an early 401, from `siglip serve` on
 * Node and from the Worker in real workerd listening on a port (`wrangler dev`, as `npm start` runs it: the vitest
 * plugin's in-process requests never touch a socket). Beyond LINGER's bounds the connection is dropped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequestWriteAll, rawWriteFirst, type Answer } from "@siglip-edge/backend/testing";
import { LINGER } from "@siglip-edge/edge-api/node";
import { tinyBundle } from "@siglip-edge/edge-api/testing";
import { startServe } from "../src/commands/serve.ts";

const KEY = "sk-linger-test";
const KEY_HASH = createHash("sha256").update(KEY).digest("hex");
const MB64 = 64 * 1024 * 1024;
/** apps/edge-api, where `wrangler dev` finds wrangler.toml (its package entry is src/index.ts). */
const APP = resolve(fileURLToPath(import.meta.resolve("@siglip-edge/edge-api")), "..", "..");
const WRANGLER = join(APP, "..", "..", "node_modules", "wrangler", "bin", "wrangler.js");

function errorCode(a: Answer): string | undefined {
  return (JSON.parse(a.body) as { error?: { code?: string } }).error?.code;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => ok(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

/** `wrangler dev` of the API Worker on 127.0.0.1 (local workerd), state in a temporary folder. */
async function wranglerDev(vars: Record<string, string>): Promise<{ url: string; stop: () => Promise<void> }> {
  const [port, inspector] = [await freePort(), await freePort()];
  const state = mkdtempSync(join(tmpdir(), "siglip-linger-wrangler-"));
  const args = [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", state, "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: APP, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`wrangler dev did not start in 90 s:\n${log}`)), 90_000);
    const see = (d: Buffer) => {
      log += d.toString();
      if (/Ready on http/.test(log)) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout?.on("data", see);
    child.stderr?.on("data", see);
    child.once("exit", (code) => fail(new Error(`wrangler dev exited (${code}):\n${log}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(state, { recursive: true, force: true });
    },
  };
}

const servers: Record<string, string> = {};
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const dir = await tinyBundle();
  const env = { API_KEY_HASHES: KEY_HASH };
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env, cwd: process.cwd() };
  const node = await startServe(["--model", dir, "--port", "0"], io);
  stops.push(node.close);
  servers["node (siglip serve)"] = node.url;
  const workerd = await wranglerDev(env);
  stops.push(workerd.stop);
  servers["workerd (wrangler dev)"] = workerd.url;
}, 150_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

const json = { "content-type": "application/json", authorization: `Bearer ${KEY}` };

describe.each(["node (siglip serve)", "workerd (wrangler dev)"])("%s: early answers reach clients that write first", (name) => {
  const url = () => `${servers[name]}/v1/embeddings`;

  it("413 for a 64 MB body with Content-Length, to http.request writing all and to a raw socket", async () => {
    for (const a of [await httpRequestWriteAll(url(), json, MB64), await rawWriteFirst(url(), json, MB64)]) {
      expect(a.status).toBe(413);
      expect(errorCode(a)).toBe("payload_too_large");
    }
  }, 120_000);

  it("413 for a chunked 64 MB body (the cap is found while reading)", async () => {
    const a = await rawWriteFirst(url(), json, MB64, true);
    expect(a.status).toBe(413);
    expect(errorCode(a)).toBe("payload_too_large");
  }, 120_000);

  it("415 and 401 before the body is read", async () => {
    const u = await rawWriteFirst(url(), { ...json, "content-type": "text/plain" }, MB64, true);
    expect([u.status, errorCode(u)]).toEqual([415, "unsupported_media_type"]);
    const k = await rawWriteFirst(url(), { "content-type": "application/json" }, MB64);
    expect([k.status, errorCode(k)]).toEqual([401, "invalid_api_key"]);
  }, 120_000);

  it("a small body is still read whole (invalid JSON -> 400), and a body past LINGER's bytes is cut off", async () => {
    const small = await rawWriteFirst(url(), json, 10);
    expect([small.status, errorCode(small)]).toEqual([400, "invalid_json"]);
    await expect(rawWriteFirst(url(), json, LINGER.maxBytes + 64 * 1024 * 1024, true)).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
  }, 120_000);
});
