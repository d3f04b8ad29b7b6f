/**
 * Wraps an onnxruntime InferenceSession (web or node: both expose the `onnxruntime-common` surface) as an
 * `EngineSession`. Type-only imports: this module loads no onnxruntime code.
 * @module
 */
import { SiglipError, type Tensor } from "@siglip-edge/core";
import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import type { EngineSession } from "./engine.ts";
import { fromOrt, toOrt, type OrtTensorCtor } from "./ort-convert.ts";

export function wrapSession(session: InferenceSession, Ctor: OrtTensorCtor): EngineSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs, into) {
      const ortFeeds: Record<string, OrtTensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(Ctor, t);
      let result: InferenceSession.ReturnType;
      try {
        if (into !== undefined) {
          const fetches: Record<string, OrtTensor> = {};
          for (const [name, t] of Object.entries(into)) fetches[name] = toOrt(Ctor, t);
          result = await session.run(ortFeeds, fetches);
        } else result = outputs === undefined ? await session.run(ortFeeds) : await session.run(ortFeeds, [...outputs]);
      } catch (cause) {
        throw new SiglipError("INFERENCE_FAILED", `inference failed: ${String(cause)}`, { cause });
      }
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(result)) {
        out[name] = fromOrt(name, value);
        value.dispose();
      }
      return out;
    },
    release: () => session.release(),
  };
}
