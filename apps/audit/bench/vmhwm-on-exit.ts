/**
 * Preload (`node --import`) that writes this process's peak RSS in MiB (VmHWM, Linux) to $VMHWM_FILE at exit.
 * VmHWM and not getrusage's maxrss, which Linux carries across fork + exec from the parent.
 */
import { readFileSync, writeFileSync } from "node:fs";

const file = process.env["VMHWM_FILE"];
if (file !== undefined) {
  process.on("exit", () => {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    writeFileSync(file, String(Number(kb ?? Number.NaN) / 1024));
  });
}
