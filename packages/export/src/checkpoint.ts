/**
 * A Hugging Face checkpoint directory: `config.json` plus `model.safetensors` or a sharded set described by
 * `model.safetensors.index.json`. Tensors are read lazily, one at a time, with their shapes checked against the
 * config (a mismatch is a typed error naming the tensor).
 * @module
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SiglipError } from "@siglip-edge/core";
import { parseModelConfig, type ModelConfig } from "./config.ts";
import { readSafetensorsHeader, readTensorF32, type TensorInfo } from "./safetensors.ts";
import { expectedTensorShapes } from "./tensor-names.ts";

export interface Checkpoint {
  dir: string;
  config: ModelConfig;
  /** Raw parsed config.json. */
  rawConfig: unknown;
  tensors: Map<string, TensorInfo>;
  /** Reads a tensor as float32, checking its shape against the config. */
  read(name: string): Promise<Float32Array>;
  /**
   * Rows [start, start + count) of a 2-D tensor as float32 (positioned read of just those rows).
   * @returns [count, cols] float32
   */
  readRows(name: string, start: number, count: number, into?: Float32Array): Promise<Float32Array>;
  /** Total bytes of all tensor data (as stored). */
  byteSize: number;
}

/** Opens a checkpoint directory. Throws `NOT_FOUND`, `UNKNOWN_MODEL_TYPE`, `CHECKPOINT_INVALID`, `SHAPE_MISMATCH`. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new SiglipError("NOT_FOUND", `${dir}: no config.json`);
  let rawConfig: unknown;
  try {
    rawConfig = JSON.parse(await readFile(cfgPath, "utf8"));
  } catch (e) {
    throw new SiglipError("CHECKPOINT_INVALID", `${cfgPath}: not valid JSON`, { cause: e });
  }
  const config = parseModelConfig(rawConfig);
  const tensors = new Map<string, TensorInfo>();
  const indexPath = join(dir, "model.safetensors.index.json");
  if (existsSync(indexPath)) {
    const index = JSON.parse(await readFile(indexPath, "utf8")) as { weight_map?: Record<string, string> };
    const files = [...new Set(Object.values(index.weight_map ?? {}))];
    if (files.length === 0) throw new SiglipError("CHECKPOINT_INVALID", `${indexPath}: empty weight_map`);
    for (const f of files) for (const [k, v] of await readSafetensorsHeader(join(dir, f))) tensors.set(k, v);
  } else {
    const single = join(dir, "model.safetensors");
    if (!existsSync(single)) throw new SiglipError("NOT_FOUND", `${dir}: no model.safetensors or model.safetensors.index.json`);
    for (const [k, v] of await readSafetensorsHeader(single)) tensors.set(k, v);
  }
  const expected = expectedTensorShapes(config);
  for (const [name, shape] of expected) {
    const info = tensors.get(name);
    if (info === undefined) {
      throw new SiglipError("CHECKPOINT_INVALID", `${dir}: tensor ${name} is missing`, { details: { tensor: name } });
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new SiglipError(
        "SHAPE_MISMATCH",
        `${dir}: tensor ${name} has shape [${info.shape.join(", ")}], config implies [${shape.join(", ")}]`,
        { details: { tensor: name, expected: shape, actual: info.shape } },
      );
    }
  }
  let byteSize = 0;
  for (const t of tensors.values()) byteSize += t.byteLength;
  return {
    dir,
    config,
    rawConfig,
    tensors,
    byteSize,
    async read(name: string): Promise<Float32Array> {
      const info = tensors.get(name);
      if (info === undefined) throw new SiglipError("CHECKPOINT_INVALID", `${dir}: tensor ${name} is missing`, { details: { tensor: name } });
      return readTensorF32(info);
    },
    async readRows(name: string, start: number, count: number, into?: Float32Array): Promise<Float32Array> {
      const info = tensors.get(name);
      if (info === undefined || info.shape.length !== 2) throw new SiglipError("CHECKPOINT_INVALID", `${dir}: ${name} is not a 2-D tensor`, { details: { tensor: name } });
      const [rows, cols] = info.shape as [number, number];
      if (start < 0 || start + count > rows) throw new SiglipError("INVALID_ARGUMENT", `${name}: rows [${start}, ${start + count}) outside [0, ${rows})`);
      const bytes = info.byteLength / (rows * cols);
      return readTensorF32({ ...info, offset: info.offset + start * cols * bytes, byteLength: count * cols * bytes }, undefined, into);
    },
  };
}
