/**
 * The CLI run in this process (tests that call `main` or a command's own function): captured stdout and stderr, a
 * cache under the test's folder, and the servers and backends a test starts, closed in reverse order.
 */
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import type { CommandIO } from "../src/io.ts";
import { main } from "../src/main.ts";

export interface Captured {
  io: CommandIO;
  out: () => string;
  err: () => string;
}

/** A command's io with `SIGLIP_CACHE` under `root`; `cwd` defaults to this process's. */
export function captureIo(root: string, env: Record<string, string | undefined> = {}, cwd = process.cwd()): Captured {
  let out = "";
  let err = "";
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  return {
    io: { stdin: new PassThrough(), stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env: { ...process.env, SIGLIP_CACHE: join(root, "cache"), ...env }, cwd },
    out: () => out,
    err: () => err,
  };
}

/** `siglip ARGS` in this process. */
export async function runCli(root: string, args: string[], cwd?: string): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo(root, {}, cwd);
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

/** Things to close after the file's tests (servers, backends), in reverse order of opening. */
export class Closers {
  readonly #list: (() => Promise<void>)[] = [];
  push(close: () => Promise<void>): void {
    this.#list.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.#list.reverse()) await close();
  }
}
