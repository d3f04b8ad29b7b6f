"""The peer's own q8 models, made by the transformers.js recipe (issue 15; edge-runtime.md §11-12), plus the torch fp32
reference outputs they are measured against.

From a FixRes checkpoint directory (config.json + model.safetensors, as packages/export writes them; model_type
"siglip", e.g. the "b16-fixres" preset, with or without planted outliers) this writes, in transformers.js's layout:
  OUT/onnx/vision_model_quantized.onnx   pixel_values float32 [batch, 3, H, W] -> last_hidden_state, pooler_output
  OUT/onnx/text_model_quantized.onnx     input_ids int64 [batch, sequence]     -> last_hidden_state, pooler_output
  OUT/reference/{input_ids,pixel_values}.npy       the fixed inputs (one 64-token text, one image)
  OUT/reference/{vision,text}_pooler_output.npy    torch fp32 pooler_output of SiglipModel (eager attention)
  OUT/recipe.json   every choice below, versions, the checkpoint's sha256, and onnxruntime (CPU, native) cosine of
                    the q8 towers to torch fp32 as a cross-check of what the bench measures in onnxruntime-web.
The output is never committed (hundreds of MB).

The recipe, choice by choice, with its source (huggingface/transformers.js scripts/convert.py, scripts/quantize.py,
scripts/extra/siglip.py; Optimum exporters/onnx/model_configs.py):
- Towers exported separately (convert.py --split_modalities, model_type "siglip"): SiglipTextModel and
  SiglipVisionModel loaded with from_pretrained defaults (attention: transformers' default, SDPA), outputs
  last_hidden_state and pooler_output (extra/siglip.py SiglipText/VisionModelOnnxConfig.outputs).
- Inputs and dynamic axes (Optimum): text input_ids {0: batch_size, 1: sequence_length} (SiglipTextOnnxConfig, int64 per
  extra/siglip.py); vision pixel_values {0: batch_size, 1: num_channels, 2: height, 3: width} (ViTOnnxConfig). No
  attention_mask.
- Opset: convert.py passes --opset (default None) to Optimum, which then uses the config's DEFAULT_ONNX_OPSET: 14 for
  ViTOnnxConfig and the CLIP/SigLIP text configs ("scaled_dot_product_attention support was added in opset 14").
  Default here: 14 (--opset to change; edge-runtime §11 measured opset 17). Exporter: torch.onnx.export with the
  TorchScript exporter (dynamo=False), do_constant_folding=True, as Optimum's export does.
- onnxslim (convert.py runs onnxslim.slim on every exported model before quantising): NOT run here; onnxslim is not
  installable on this machine (only the npm and Debian registries are reachable). It folds constants and removes dead
  nodes; the TorchScript exporter's constant folding does most of that, and onnxruntime's graph optimiser does the
  rest at session creation.
- per_channel and reduce_range: convert.py sets both to True for every model_type outside
  NO_PER_CHANNEL_REDUCE_RANGE_MODELS, which does not list siglip. So per-channel weights, reduce_range=True (7-bit
  weight range).
- Weight type, mode q8 ("_quantized" suffix, the default dtype on wasm): QUInt8 when the graph has a Conv (QUINT8_OPS:
  Conv, GroupQueryAttention, MultiHeadAttention; onnxruntime-web has no ConvInteger for int8 weights), else QInt8. The
  vision tower has the Conv patch embedding, so all its weights are QUInt8; the text tower's are QInt8.
- Quantiser (quantize.py quantize_q8): ONNXQuantizer in QuantizationMode.IntegerOps, static=False (dynamic,
  per-tensor uint8 activations: activation_qType QUInt8), op_types_to_quantize = every IntegerOpsRegistry op (MatMul,
  Conv, Gather, Attention, ...: so the token table's Gather is quantised too), extra_options EnableSubgraph=True,
  MatMulConstBOnly=True (only MatMuls with a constant B, so the attention score matmuls stay fp32). This is the core of
  onnxruntime.quantization.quantize_dynamic, called directly as transformers.js does (quantize_dynamic would also
  bump the opset and warn about pre-processing; transformers.js skips both).
- --weight-type / --per-channel / --reduce-range override the recipe (e.g. --weight-type qint8 --reduce-range off:
  per-channel QInt8 as the brief of issue 15 phrases it); recipe.json records what was used.

Usage: /work/pyenv/bin/python tools/reference/peer_q8_models.py CHECKPOINT_DIR OUT_DIR [--inputs DIR]
         [--opset 14] [--weight-type recipe|qint8|quint8] [--per-channel on|off] [--reduce-range on|off] [--keep-fp32]
--inputs DIR: input_ids.npy (int [1, 64]) and pixel_values.npy (float32 [1, 3, S, S]); without it they are written by
`node packages/runtime/bench/peer-q8.ts inputs DIR` (our tokenizer on a fixed sentence, our preprocess of a committed
fixtures photo).
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import onnx
import onnxruntime
import torch
import transformers
from onnxruntime.quantization import QuantizationMode, QuantType
from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer
from onnxruntime.quantization.registry import IntegerOpsRegistry
from transformers import SiglipModel, SiglipTextModel, SiglipVisionModel

sys.path.insert(0, os.path.dirname(__file__))
from export_goldens import NODE, ROOT, sha256  # noqa: E402

QUINT8_OPS = ("Conv", "GroupQueryAttention", "MultiHeadAttention")  # transformers.js scripts/quantize.py


class Outputs(torch.nn.Module):
    """The tower as Optimum exports it: named inputs in, (last_hidden_state, pooler_output) out."""

    def __init__(self, model, input_name):
        super().__init__()
        self.model = model
        self.input_name = input_name

    def forward(self, x):
        out = self.model(**{self.input_name: x})
        return out.last_hidden_state, out.pooler_output


def export(model, input_name, example, axes, path, opset):
    torch.onnx.export(
        Outputs(model, input_name).eval(),
        (example,),
        path,
        input_names=[input_name],
        output_names=["last_hidden_state", "pooler_output"],
        dynamic_axes={input_name: axes, "last_hidden_state": {0: "batch_size"} if input_name == "pixel_values" else {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}},
        opset_version=opset,
        do_constant_folding=True,
        dynamo=False,
    )


def operators(model):
    ops = set()

    def walk(g):
        for n in g.node:
            ops.add(n.op_type)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)

    walk(model.graph)
    return ops


def quantize_q8(src, dst, args):
    """transformers.js scripts/quantize.py quantize_q8 with the q8 weight-type rule; returns the choices made."""
    model = onnx.load_model(src)
    ops = operators(model)
    if args.weight_type == "recipe":
        weight_type = QuantType.QUInt8 if any(x in QUINT8_OPS for x in ops) else QuantType.QInt8
    else:
        weight_type = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}[args.weight_type]
    per_channel = args.per_channel == "on"
    reduce_range = args.reduce_range == "on"
    quantizer = ONNXQuantizer(
        model,
        per_channel,
        reduce_range,
        mode=QuantizationMode.IntegerOps,
        static=False,
        weight_qType=weight_type,
        activation_qType=QuantType.QUInt8,
        tensors_range=None,
        nodes_to_quantize=[],
        nodes_to_exclude=[],
        op_types_to_quantize=set(IntegerOpsRegistry.keys()),
        extra_options=dict(EnableSubgraph=True, MatMulConstBOnly=True),
    )
    quantizer.quantize_model()
    q = quantizer.model.model
    onnx.save_model(q, dst)  # < 2 GB: one file (optimum check_and_save_model uses external data only above that)
    qops = sorted(operators(q))
    return {"weight_type": weight_type.name, "per_channel": per_channel, "reduce_range": reduce_range, "ops_in": sorted(ops), "ops_out": qops, "bytes": os.path.getsize(dst)}


def planted_outliers(ck):
    """{seed, channels, gain} of a checkpoint with planted outliers (its outliers.json), else None."""
    path = os.path.join(ck, "outliers.json")
    if not os.path.exists(path):
        return None
    return {k: v for k, v in json.load(open(path)).items() if k != "sites"}


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--inputs", help="folder with input_ids.npy and pixel_values.npy")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--weight-type", choices=["recipe", "qint8", "quint8"], default="recipe")
    ap.add_argument("--per-channel", choices=["on", "off"], default="on")
    ap.add_argument("--reduce-range", choices=["on", "off"], default="on")
    ap.add_argument("--keep-fp32", action="store_true", help="keep the fp32 ONNX exports (OUT/onnx/{vision,text}_model.onnx)")
    args = ap.parse_args()
    torch.manual_seed(0)
    transformers.logging.set_verbosity_error()  # each tower loads from the two-tower checkpoint: the other's keys are "unexpected"
    cfg = json.load(open(os.path.join(args.checkpoint, "config.json")))
    if cfg.get("model_type") != "siglip":
        raise SystemExit(f"{args.checkpoint}: model_type {cfg.get('model_type')!r}; transformers.js exports FixRes SigLIP ('siglip') only")
    onnx_dir = os.path.join(args.out, "onnx")
    ref_dir = os.path.join(args.out, "reference")
    os.makedirs(onnx_dir, exist_ok=True)
    os.makedirs(ref_dir, exist_ok=True)

    inputs_dir = args.inputs
    if inputs_dir is None:
        inputs_dir = ref_dir
        subprocess.run([NODE, os.path.join(ROOT, "packages/runtime/bench/peer-q8.ts"), "inputs", ref_dir], check=True)
    ids = np.load(os.path.join(inputs_dir, "input_ids.npy")).astype(np.int64)
    pv = np.load(os.path.join(inputs_dir, "pixel_values.npy")).astype(np.float32)
    if ids.ndim != 2 or pv.ndim != 4:
        raise SystemExit(f"inputs: input_ids must be [B, T] and pixel_values [B, 3, S, S], got {ids.shape} and {pv.shape}")
    if inputs_dir != ref_dir:
        np.save(os.path.join(ref_dir, "input_ids.npy"), ids)
        np.save(os.path.join(ref_dir, "pixel_values.npy"), pv)

    # torch fp32 reference: SiglipModel, eager attention (the project's reference configuration).
    t0 = time.time()
    ref = SiglipModel.from_pretrained(args.checkpoint, attn_implementation="eager", dtype=torch.float32).eval()
    with torch.no_grad():
        vref = ref.vision_model(pixel_values=torch.from_numpy(pv)).pooler_output.numpy()
        tref = ref.text_model(input_ids=torch.from_numpy(ids)).pooler_output.numpy()
    del ref
    np.save(os.path.join(ref_dir, "vision_pooler_output.npy"), vref)
    np.save(os.path.join(ref_dir, "text_pooler_output.npy"), tref)
    print(f"reference: {time.time() - t0:.1f} s", file=sys.stderr)

    towers = {}
    S = cfg["vision_config"].get("image_size", 224)
    for name, cls, input_name, example, axes in (
        ("vision_model", SiglipVisionModel, "pixel_values", torch.zeros(1, 3, S, S), {0: "batch_size", 1: "num_channels", 2: "height", 3: "width"}),
        ("text_model", SiglipTextModel, "input_ids", torch.from_numpy(ids[:1]), {0: "batch_size", 1: "sequence_length"}),
    ):
        t0 = time.time()
        model = cls.from_pretrained(args.checkpoint, dtype=torch.float32).eval()
        fp32 = os.path.join(onnx_dir, f"{name}.onnx")
        with torch.no_grad():
            export(model, input_name, example, axes, fp32, args.opset)
        del model
        t1 = time.time()
        q8 = os.path.join(onnx_dir, f"{name}_quantized.onnx")
        choice = quantize_q8(fp32, q8, args)
        t2 = time.time()
        # Cross-check in onnxruntime (native CPU, 1 thread): fp32 export and q8 against torch fp32.
        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = 1
        feed = {input_name: pv if input_name == "pixel_values" else ids}
        want = vref if input_name == "pixel_values" else tref
        got = {}
        for kind, path in (("fp32", fp32), ("q8", q8)):
            s = onnxruntime.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            got[kind] = cosine(s.run(["pooler_output"], feed)[0], want)
            del s
        towers[name] = {**choice, "export_s": round(t1 - t0, 1), "quantize_s": round(t2 - t1, 1), "ort_cpu_cosine_to_torch": got}
        print(f"{name}: export {t1 - t0:.0f} s, quantize {t2 - t1:.0f} s, {choice['weight_type']}, ORT CPU cosine fp32 {got['fp32']:.7f} q8 {got['q8']:.6f}", file=sys.stderr)
        if not args.keep_fp32:
            os.remove(fp32)
            if os.path.exists(fp32 + ".data"):
                os.remove(fp32 + ".data")

    weights = os.path.join(args.checkpoint, "model.safetensors")
    recipe = {
        "checkpoint": os.path.abspath(args.checkpoint),
        "weights_sha256": sha256(weights) if os.path.exists(weights) else None,
        "outliers": planted_outliers(args.checkpoint),
        "opset": args.opset,
        "exporter": "torch.onnx.export (TorchScript, dynamo=False), do_constant_folding=True",
        "onnxslim": "not run (not installable here)",
        "quantizer": "onnxruntime.quantization ONNXQuantizer, IntegerOps, dynamic, activations QUInt8 per tensor, op_types = IntegerOpsRegistry, EnableSubgraph, MatMulConstBOnly",
        "overrides": {"weight_type": args.weight_type, "per_channel": args.per_channel, "reduce_range": args.reduce_range},
        "towers": towers,
        "inputs": {"input_ids": list(ids.shape), "pixel_values": list(pv.shape)},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
        "script": "tools/reference/peer_q8_models.py",
    }
    with open(os.path.join(args.out, "recipe.json"), "w") as f:
        json.dump(recipe, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
