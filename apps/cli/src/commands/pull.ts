/** `siglip pull`: download a checkpoint from the Hugging Face hub into the cache, then convert it to a bundle. */
import { bundleCacheDir, convertCheckpoint, isTinyModel, pullCheckpoint, WEIGHT_DTYPES, type WeightDType } from "@siglip-edge/export";
import { intFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";
import { resolveBundle } from "../model.ts";

const USAGE = `siglip pull MODEL_ID [--revision R] [--dtype fp32|fp16|int8|q4] [--stages N]
  Downloads config, weights and tokenizer from the hub (HF_ENDPOINT, HF_TOKEN honoured), resuming partial files and
  verifying sizes and hashes, into the cache (SIGLIP_CACHE, default ~/.cache/siglip-edge), then converts to a bundle
  that \`siglip embed --model MODEL_ID\` finds. --stages N also writes N stage graphs per tower (see siglip convert),
  for the staged B/16 deployment on Workers. \`siglip pull tiny\` (or tiny-naflex) generates the offline random-weight
  model into the cache instead (no download).`;

function bar(done: number, total: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const n = Math.round(frac * 30);
  return `[${"#".repeat(n)}${" ".repeat(30 - n)}] ${(frac * 100).toFixed(0).padStart(3)}% ${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`;
}

export const command: Command = {
  summary: "download a checkpoint from the Hugging Face hub and convert it",
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { revision: { type: "string" }, dtype: { type: "string", choices: WEIGHT_DTYPES }, stages: { type: "string" } });
    const [id, extra] = args.positionals;
    if (id === undefined) throw new UsageError("missing MODEL_ID");
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const revision = stringFlag(args, "revision") ?? "main";
    const dtype = (stringFlag(args, "dtype") ?? "fp32") as WeightDType;
    // Checked against the checkpoint's layer count by the conversion (a typed error, exit 2).
    const stages = stringFlag(args, "stages") === undefined ? 1 : intFlag(args, "stages", 1, 1000);
    if (isTinyModel(id)) {
      if (stages !== 1) throw new UsageError(`--stages is not available for ${id}`);
      await write(io.stdout, (await resolveBundle(id, io, { dtype })) + "\n");
      return 0;
    }
    let lastFile = "";
    let lastDraw = 0;
    let res: Awaited<ReturnType<typeof pullCheckpoint>>;
    try {
      res = await pullCheckpoint(id, {
        revision,
        env: io.env,
        onProgress: (p) => {
          const now = Date.now();
          if (p.file === lastFile && now - lastDraw < 200 && p.done < p.total) return;
          if (p.file !== lastFile && lastFile !== "") void write(io.stderr, "\n");
          lastFile = p.file;
          lastDraw = now;
          void write(io.stderr, `\r${bar(p.done, p.total)} ${p.file}`);
        },
      });
    } finally {
      if (lastFile !== "") await write(io.stderr, "\n"); // end the progress line before any error line
    }
    await write(io.stderr, `downloaded ${res.files.length} files of ${id}@${res.commit.slice(0, 12)} to ${res.dir}\n`);
    const out = bundleCacheDir(id, revision, dtype, io.env);
    const m = await convertCheckpoint(res.dir, out, { dtype, checkpointId: id, revision: res.commit, stages });
    await write(io.stderr, `converted to a ${m.family} ${dtype} bundle at ${out}\n`);
    await write(io.stdout, out + "\n");
    return 0;
  },
};
