/**
 * Peak RSS of this process in MiB: VmHWM from /proc/self/status (Linux). Not getrusage's ru_maxrss: Linux keeps it
 * across fork + exec, so a child spawned by a big parent reports the parent's peak. Falls back to ru_maxrss elsewhere.
 */
import { readFileSync } from "node:fs";

export function peakRssMiB(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb !== undefined) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
