/**
 * onnxruntime-node (native CPU) behind the engine interface: the self-hosting path and the parity reference for the
 * WASM engine.
 * @module
 */
import * as ort from "onnxruntime-node";
import { SiglipError } from "@siglip-edge/core";
import type { EngineSession, InferenceEngine, ModelSource, SessionConfig } from "../engine.ts";
import type { OrtTensorCtor } from "../ort-convert.ts";
import { wrapSession } from "../ort-session.ts";

class NodeEngine implements InferenceEngine {
  readonly name = "onnxruntime-node";
  readonly loads = ["path", "bytes"] as const;
  readonly streamsExternalData = false;
  readonly fillsOutputs = false;

  async createSession(model: ModelSource, config: SessionConfig = {}): Promise<EngineSession> {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: config.threads ?? 1,
      interOpNumThreads: 1,
    };
    if (config.optimization === "disabled") options.graphOptimizationLevel = "disabled";
    if (model.kind === "bundle") throw new SiglipError("INVALID_ARGUMENT", "onnxruntime-node runs ONNX graphs: give a path or bytes");
    if (model.kind === "bytes" && model.externalData !== undefined && model.externalData.length > 0) {
      throw new SiglipError(
        "INVALID_ARGUMENT",
        "onnxruntime-node needs graphs with external data as a file path (it resolves the data next to the graph)",
      );
    }
    try {
      const session =
        model.kind === "path"
          ? await ort.InferenceSession.create(model.path, options)
          : await ort.InferenceSession.create(model.graph, options);
      return wrapSession(session, ort.Tensor as unknown as OrtTensorCtor);
    } catch (cause) {
      throw new SiglipError("MODEL_LOAD_FAILED", `onnxruntime-node could not create a session: ${String(cause)}`, {
        cause,
      });
    }
  }

  nativeMemoryBytes(): number | undefined {
    return undefined;
  }
}

let engine: NodeEngine | undefined;

/** The process-wide onnxruntime-node engine. */
export function createNodeEngine(): InferenceEngine {
  engine ??= new NodeEngine();
  return engine;
}
