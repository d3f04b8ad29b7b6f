/**
 * `siglip` entry point: dispatches to a command, turns expected failures into one line on stderr with exit code 2.
 * @module
 */
import { isSiglipError } from "@siglip-edge/core";
import { UsageError } from "./args.ts";
import { COMMANDS } from "./commands/index.ts";
import type { CommandIO } from "./io.ts";

function defaultIO(): CommandIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

async function help(io: CommandIO): Promise<void> {
  const lines = ["usage: siglip <command> [options]", "", "commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${(await load()).summary}`);
  lines.push("", "Run `siglip <command> --help` for a command's options.");
  io.stdout.write(lines.join("\n") + "\n");
}

/** Runs the CLI with `argv` (without the node and script paths) and returns the exit code. */
export async function main(argv: readonly string[], io: CommandIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  const oneLine = (msg: string) => msg.replace(/\s*\n\s*/g, " ").trim();
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    await help(io);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    io.stderr.write(`siglip: error: unknown command "${name}" (run \`siglip --help\` for the list)\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`siglip ${name}: error: ${oneLine(err.message)} (see \`siglip ${name} --help\`)\n`);
      return 2;
    }
    if (isSiglipError(err)) {
      io.stderr.write(`siglip ${name}: error: ${err.code}: ${oneLine(err.message)}\n`);
      return 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(`siglip ${name}: internal error: ${oneLine(msg)}\n`);
    return 1;
  }
}
