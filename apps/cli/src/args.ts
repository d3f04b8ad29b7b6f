/**
 * A small, strict flag parser: every flag is declared, unknown flags and missing values are usage errors.
 * @module
 */

/** A usage mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagSpec {
  /** `string` takes a value; `boolean` takes none; `list` takes a value and may repeat. */
  type: "string" | "boolean" | "list";
  /** Allowed values, checked when given. */
  choices?: readonly string[];
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** `{ name: { type: "string" } }` for each name: flags that take one value, with no choices and no short form. */
export function stringFlags(...names: readonly string[]): FlagSpecs {
  return Object.fromEntries(names.map((n) => [n, { type: "string" }]));
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parses `--name value`, `--name=value`, `-s value`, boolean `--name`, and `--` (positionals after it).
 */
export function parseArgs(argv: readonly string[], specs: FlagSpecs): Parsed {
  const flags: Parsed["flags"] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(specs).flatMap(([k, s]) => (s.short ? [[s.short, k] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (arg.length === 2 && arg.startsWith("-") && arg !== "-") {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`unknown flag ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown flag --${name}`);
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join("|")}, got "${value}"`);
    }
    if (spec.type === "list") {
      const prev = flags[name];
      flags[name] = Array.isArray(prev) ? [...prev, value] : [value];
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === "string" ? v : undefined;
}

export function listFlag(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

/** Parses a positive integer flag, with an optional inclusive maximum. */
export function intFlag(p: Parsed, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = stringFlag(p, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`--${name} must be a positive integer, got "${raw}"`);
  const n = Number(raw);
  if (n < 1 || n > max) throw new UsageError(`--${name} must be between 1 and ${max}, got ${n}`);
  return n;
}
