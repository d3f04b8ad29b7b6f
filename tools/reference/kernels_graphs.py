"""Graphs and reference outputs for packages/kernels/bench (its output is not committed; written to --out).

gemm/: one MatMul per ViT-B/16 linear shape (K, N), batch dim dynamic:
  <name>_fp32.onnx   MatMul with an fp32 initializer
  <name>_q8.onnx     the same after onnxruntime quantize_dynamic (per-channel QInt8 weights: the transformers.js recipe,
                     DynamicQuantizeLinear + MatMulInteger + Cast + Mul)
  <name>_mmitf.onnx  DynamicQuantizeLinear + com.microsoft MatMulIntegerToFloat (the fused integer path)
layer/<case>/: one SigLIP 2 encoder layer (transformers Siglip2EncoderLayer, B/16 shapes: 768 wide, 12 heads, MLP 3072,
  tanh GELU, eps 1e-6) with random weights drawn like packages/export generateCheckpoint (Linear U(-a, a),
  a = sqrt(3 / fan_in) * gain, q/k gain 1.5, else 1.2; LayerNorm gains U(0.6, 1.4); biases U(-0.2, 0.2)):
  weights as .npy (torch names), x_<M>.npy (input hidden states, N(0, 1)), y_<M>.npy (torch fp32 output),
  layer_fp32.onnx (torch.onnx.export, sequence dim dynamic) and layer_q8.onnx (quantize_dynamic as above).
  case "outlier": the same weights with planted activation-outlier channels: 6 channels of both LayerNorms get gain
  and bias x30 and the matching input columns of q/k/v and fc1 are divided by 30 (the fp32 function is unchanged).

--tiny-golden: only the committed golden of packages/kernels/test/fixtures/layer-tiny (a 32-wide layer, 7 tokens).

Usage: python tools/reference/kernels_graphs.py --out /tmp/siglip-kernels [--seed 0]
       python tools/reference/kernels_graphs.py --tiny-golden --out packages/kernels/test/fixtures/layer-tiny
"""
import argparse
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

SHAPES = {"qkv": (768, 2304), "out": (768, 768), "fc1": (768, 3072), "fc2": (3072, 768)}
TOKENS = (196, 64)
OUTLIER_GAIN = 30.0
N_OUTLIERS = 6


def model(g, opsets) -> onnx.ModelProto:
    m = helper.make_model(g, opset_imports=opsets)
    m.ir_version = 8  # onnxruntime-web 1.30 reads IR <= 13; opset 17 needs 8
    return m


def gemm_graphs(out: str, seed: int) -> None:
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, (k, n) in SHAPES.items():
        a = np.sqrt(3 / k) * 1.2
        w = rng.uniform(-a, a, size=(k, n)).astype(np.float32)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["M", k])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["M", n])
        g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], name, [x], [y], [numpy_helper.from_array(w, "w")])
        fp32 = os.path.join(out, f"{name}_fp32.onnx")
        onnx.save(model(g, [helper.make_opsetid("", 17)]), fp32)
        quantize_dynamic(fp32, os.path.join(out, f"{name}_q8.onnx"), per_channel=True, weight_type=QuantType.QInt8)
        # MatMulIntegerToFloat with per-column int8 weights (zero point 0) and uint8 activations from DynamicQuantizeLinear
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127
        wq = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        nodes = [
            helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
            helper.make_node("MatMulIntegerToFloat", ["xq", "wq", "xs", "ws", "xz", "wz"], ["y"], domain="com.microsoft"),
        ]
        inits = [numpy_helper.from_array(wq, "wq"), numpy_helper.from_array(scale.astype(np.float32), "ws"), numpy_helper.from_array(np.zeros(n, np.int8), "wz")]
        g = helper.make_graph(nodes, name, [x], [y], inits)
        onnx.save(model(g, [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]), os.path.join(out, f"{name}_mmitf.onnx"))


def layer_weights(seed: int, d: int = 768, f: int = 3072) -> dict:
    rng = np.random.default_rng(seed + 1)
    w = {}

    def lin(name: str, out_f: int, in_f: int, gain: float) -> None:
        a = np.sqrt(3 / in_f) * gain
        w[f"{name}.weight"] = rng.uniform(-a, a, size=(out_f, in_f)).astype(np.float32)
        w[f"{name}.bias"] = rng.uniform(-0.2, 0.2, size=(out_f,)).astype(np.float32)

    for ln in ("layer_norm1", "layer_norm2"):
        w[f"{ln}.weight"] = rng.uniform(0.6, 1.4, size=(d,)).astype(np.float32)
        w[f"{ln}.bias"] = rng.uniform(-0.2, 0.2, size=(d,)).astype(np.float32)
    lin("self_attn.q_proj", d, d, 1.5)
    lin("self_attn.k_proj", d, d, 1.5)
    lin("self_attn.v_proj", d, d, 1.2)
    lin("self_attn.out_proj", d, d, 1.2)
    lin("mlp.fc1", f, d, 1.2)
    lin("mlp.fc2", d, f, 1.2)
    return w


def plant_outliers(w: dict, seed: int) -> tuple[dict, list[int]]:
    w = {k: v.copy() for k, v in w.items()}
    ch = sorted(np.random.default_rng(seed + 2).choice(768, N_OUTLIERS, replace=False).tolist())
    for ln, lins in (("layer_norm1", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")), ("layer_norm2", ("mlp.fc1",))):
        w[f"{ln}.weight"][ch] *= OUTLIER_GAIN
        w[f"{ln}.bias"][ch] *= OUTLIER_GAIN
        for name in lins:
            w[f"{name}.weight"][:, ch] /= OUTLIER_GAIN
    return w, ch


def make_layer(w: dict, d: int = 768, f: int = 3072, heads: int = 12) -> torch.nn.Module:
    from transformers import Siglip2VisionConfig
    from transformers.models.siglip2.modeling_siglip2 import Siglip2EncoderLayer

    cfg = Siglip2VisionConfig(hidden_size=d, intermediate_size=f, num_attention_heads=heads, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    cfg._attn_implementation = "eager"
    layer = Siglip2EncoderLayer(cfg).eval()
    layer.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    return layer


class Wrap(torch.nn.Module):
    def __init__(self, layer: torch.nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        out = self.layer(x, None)
        return out[0] if isinstance(out, tuple) else out


def layer_case(out: str, w: dict, seed: int, meta: dict) -> None:
    os.makedirs(out, exist_ok=True)
    for k, v in w.items():
        np.save(os.path.join(out, f"{k}.npy"), v)
    model = Wrap(make_layer(w))
    rng = np.random.default_rng(seed + 3)
    for m in TOKENS:
        x = rng.standard_normal((1, m, 768)).astype(np.float32)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy()
        np.save(os.path.join(out, f"x_{m}.npy"), x[0])
        np.save(os.path.join(out, f"y_{m}.npy"), y[0])
    fp32 = os.path.join(out, "layer_fp32.onnx")
    torch.onnx.export(model, (torch.zeros(1, 196, 768),), fp32, input_names=["x"], output_names=["y"], dynamic_axes={"x": {1: "M"}, "y": {1: "M"}}, opset_version=17, dynamo=False)
    quantize_dynamic(fp32, os.path.join(out, "layer_q8.onnx"), per_channel=True, weight_type=QuantType.QInt8)
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump(meta, fh)


def tiny_golden(out: str, seed: int) -> None:
    """The committed test golden: a 32-wide layer (2 heads of 16, MLP 64) on 7 tokens, from transformers."""
    os.makedirs(out, exist_ok=True)
    d, f, heads, m = 32, 64, 2, 7
    w = layer_weights(seed, d, f)
    model = Wrap(make_layer(w, d, f, heads))
    x = np.random.default_rng(seed + 3).standard_normal((1, m, d)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    for k, v in w.items():
        np.save(os.path.join(out, f"{k}.npy"), v)
    np.save(os.path.join(out, "x.npy"), x[0])
    np.save(os.path.join(out, "y.npy"), y[0])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=["gemm", "layer"], default=None)
    p.add_argument("--tiny-golden", action="store_true", help="write only the tiny committed test golden into --out")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    if args.tiny_golden:
        tiny_golden(args.out, args.seed)
        return
    if args.only in (None, "gemm"):
        gemm_graphs(os.path.join(args.out, "gemm"), args.seed)
    if args.only in (None, "layer"):
        w = layer_weights(args.seed)
        layer_case(os.path.join(args.out, "layer", "ordinary"), w, args.seed, {"seed": args.seed, "outliers": []})
        wo, ch = plant_outliers(w, args.seed)
        layer_case(os.path.join(args.out, "layer", "outlier"), wo, args.seed, {"seed": args.seed, "outliers": ch, "gain": OUTLIER_GAIN})
    print(json.dumps({"out": args.out}))


if __name__ == "__main__":
    main()
