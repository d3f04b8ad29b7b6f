/** Writes the checkpoint registry as JSON (stdout), the input of tools/reference/core_goldens.py. */
import { CHECKPOINTS } from "../src/index.ts";

process.stdout.write(JSON.stringify(CHECKPOINTS, null, 1) + "\n");
