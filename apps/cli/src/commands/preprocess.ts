/**
 * `siglip preprocess IMAGE`: one image file to the model's pixel inputs as .npy files, exactly as the Hugging Face
 * processors produce them (see @siglip-edge/preprocess).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { encodeNpy, SiglipError } from "@siglip-edge/core";
import { initNodeDecoders, preprocessFixRes, preprocessNaFlex, type ResampleFilter } from "@siglip-edge/preprocess/node";
import { intFlag, parseArgs, stringFlag, UsageError } from "../args.ts";
import { write, type Command } from "../io.ts";

const USAGE = `siglip preprocess IMAGE --mode fixres|naflex [options]
  Decodes IMAGE (JPEG, PNG, WebP, GIF, BMP; EXIF orientation applied, alpha dropped) and writes the model inputs.
  --mode fixres       --size S (default 224) --out FILE.npy: pixel_values float32 [1, 3, S, S]
  --mode naflex       --max-patches N (default 256) --out-dir DIR: pixel_values.npy float32 [1, N, 768],
                      pixel_attention_mask.npy int32 [1, N], spatial_shapes.npy int64 [1, 2]
  --resample          bilinear (SigLIP 2, default) | bicubic (SigLIP 1)
  --max-pixels        refuse images with more pixels than this (default 40000000)`;

export const command: Command = {
  summary: "image file to SigLIP pixel_values (.npy), bit-exact with Hugging Face",
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, {
      mode: { type: "string", choices: ["fixres", "naflex"] },
      size: { type: "string" },
      "max-patches": { type: "string" },
      resample: { type: "string", choices: ["bilinear", "bicubic"] },
      out: { type: "string", short: "o" },
      "out-dir": { type: "string" },
      "max-pixels": { type: "string" },
    });
    const [image, ...extra] = args.positionals;
    if (image === undefined) throw new UsageError("missing IMAGE");
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const mode = stringFlag(args, "mode");
    if (mode === undefined) throw new UsageError("--mode fixres|naflex is required");
    const resample = (stringFlag(args, "resample") ?? "bilinear") as ResampleFilter;
    const limits = { maxPixels: intFlag(args, "max-pixels", 40_000_000) };
    const path = resolve(io.cwd, image);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (err) {
      throw new SiglipError("NOT_FOUND", `cannot read ${image}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    await initNodeDecoders();
    if (mode === "fixres") {
      if (stringFlag(args, "out-dir") !== undefined || stringFlag(args, "max-patches") !== undefined) throw new UsageError("--out-dir and --max-patches are for --mode naflex");
      const out = stringFlag(args, "out");
      if (out === undefined) throw new UsageError("--mode fixres needs --out FILE.npy");
      const size = intFlag(args, "size", 224, 4096);
      const pv = await preprocessFixRes(bytes, { size, resample, limits });
      await writeFile(resolve(io.cwd, out), encodeNpy(pv));
      await write(io.stdout, `pixel_values float32 [${pv.dims.join(", ")}] -> ${out}\n`);
      return 0;
    }
    if (stringFlag(args, "out") !== undefined || stringFlag(args, "size") !== undefined) throw new UsageError("--out and --size are for --mode fixres");
    const dir = stringFlag(args, "out-dir");
    if (dir === undefined) throw new UsageError("--mode naflex needs --out-dir DIR");
    const maxNumPatches = intFlag(args, "max-patches", 256, 65_536);
    const r = await preprocessNaFlex(bytes, { maxNumPatches, resample, limits });
    const outDir = resolve(io.cwd, dir);
    await mkdir(outDir, { recursive: true });
    await writeFile(resolve(outDir, "pixel_values.npy"), encodeNpy(r.pixelValues));
    await writeFile(resolve(outDir, "pixel_attention_mask.npy"), encodeNpy(r.pixelAttentionMask));
    await writeFile(resolve(outDir, "spatial_shapes.npy"), encodeNpy(r.spatialShapes));
    const [nh, nw] = Array.from(r.spatialShapes.data, Number);
    await write(io.stdout, `pixel_values float32 [${r.pixelValues.dims.join(", ")}], grid ${nh}x${nw} -> ${dir}\n`);
    return 0;
  },
};
