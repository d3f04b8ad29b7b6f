/** Process I/O shared by commands: streams are injectable so tests can run commands in-process. */
import type { Readable, Writable } from "node:stream";

export interface CommandIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  cwd: string;
}

export interface Command {
  /** One line for `siglip --help`. */
  summary: string;
  usage: string;
  /** Returns the exit code. Throw `UsageError` or a `SiglipError` for a one-line error and exit code 2. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Writes and resolves once the chunk is flushed (or buffered below the high-water mark). */
export function write(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(chunk, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else stream.once("drain", resolve);
  });
}

/**
 * Runs a started server until SIGINT or SIGTERM, then closes it (what `siglip serve` and `siglip backend` do in the
 * foreground); resolves to the exit code 0.
 */
export async function untilSignal(server: { close: () => Promise<void> }): Promise<number> {
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  return 0;
}
