/**
 * Interop export in the transformers.js layout (siglip2-spec §9.1-§9.3): `config.json` (model_type "siglip"),
 * `preprocessor_config.json`, `onnx/vision_model{suffix}.onnx` and `onnx/text_model{suffix}.onnx` with weights in
 * `*.onnx_data` (declared in `config.json` under `transformers.js_config.use_external_data_format`), and the
 * tokenizer files when the checkpoint has them. Graph contract: vision `pixel_values` -> `last_hidden_state`,
 * `pooler_output`; text `input_ids` -> `last_hidden_state`, `pooler_output` (not normalised).
 * transformers.js has no NaFlex (`siglip2`) model, so NaFlex checkpoints are refused.
 * @module
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { openCheckpoint } from "./checkpoint.ts";
import { toHfConfigJson } from "./config.ts";
import type { WeightDType } from "./graphs/layers.ts";
import { buildFixResVision, buildText, opsetsFor } from "./graphs/towers.ts";
import { fileSink, type GraphBuilder, type WeightSink } from "./onnx/builder.ts";

/** transformers.js file-name suffixes (`utils/dtypes.js`). */
export const TRANSFORMERS_JS_SUFFIX: Readonly<Record<WeightDType, string>> = { fp32: "", fp16: "_fp16", int8: "_int8", q4: "_q4" };

/** Writes the interop export; returns the relative paths written. */
export async function exportTransformersJs(checkpointDir: string, out: string, opts: { dtype?: WeightDType } = {}): Promise<string[]> {
  const dtype = opts.dtype ?? "fp32";
  const ck = await openCheckpoint(checkpointDir);
  const c = ck.config;
  if (c.family !== "fixres") {
    throw new SiglipError("INVALID_ARGUMENT", "transformers.js has no NaFlex (siglip2) model: only FixRes (model_type siglip) checkpoints export to its layout");
  }
  await mkdir(join(out, "onnx"), { recursive: true });
  const suffix = TRANSFORMERS_JS_SUFFIX[dtype];
  const written: string[] = [];
  const graph = async (name: string, build: (s: WeightSink) => Promise<GraphBuilder>): Promise<void> => {
    const file = `${name}${suffix}.onnx`;
    const sink = fileSink(join(out, "onnx", `${file}_data`), `${file}_data`);
    let g: GraphBuilder;
    try {
      g = await build(sink);
    } finally {
      sink.close();
    }
    await writeFile(join(out, "onnx", file), g.encode(opsetsFor(dtype)));
    written.push(`onnx/${file}`, `onnx/${file}_data`);
  };
  await graph("vision_model", (s) => buildFixResVision(c, ck.read, s, { dtype, lastHiddenState: true }));
  await graph("text_model", (s) => buildText(c, ck.read, s, { dtype, splitTable: false, lastHiddenState: true, readRows: ck.readRows }));

  const [logitScale] = await ck.read("logit_scale");
  const [logitBias] = await ck.read("logit_bias");
  const config = {
    ...toHfConfigJson(c),
    "transformers.js_config": {
      dtype,
      use_external_data_format: { [`vision_model${suffix}.onnx`]: 1, [`text_model${suffix}.onnx`]: 1 },
    },
    // Not read by transformers.js (its split models carry no scale/bias); kept so callers can compute logits.
    siglip_edge: { logit_scale: logitScale, logit_bias: logitBias },
  };
  await writeFile(join(out, "config.json"), JSON.stringify(config, null, 2) + "\n");
  const S = c.vision.imageSize ?? 224;
  const pre = {
    image_processor_type: "SiglipImageProcessor",
    do_resize: true,
    size: { height: S, width: S },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    do_convert_rgb: true,
  };
  await writeFile(join(out, "preprocessor_config.json"), JSON.stringify(pre, null, 2) + "\n");
  written.push("config.json", "preprocessor_config.json");
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
    if (existsSync(join(checkpointDir, f))) {
      await copyFile(join(checkpointDir, f), join(out, f));
      written.push(f);
    }
  }
  return written;
}
