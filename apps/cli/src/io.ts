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
