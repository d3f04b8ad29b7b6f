"""Builds the small ONNX graphs the runtime engine tests run, and records their outputs from Python onnxruntime
(CPU, the reference executor). Run from the repo root:

    tools/reference/.venv/bin/python packages/runtime/tools/make-test-graphs.py

Writes fixtures/engine-graphs/{affine-softmax.onnx, affine-softmax-ext.onnx, affine-softmax-ext.onnx.data,
expected.json}. The weights are seeded, so reruns produce identical files.
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "engine-graphs")
rng = np.random.default_rng(20261129)
D_IN, D_OUT = 8, 5
W = rng.standard_normal((D_IN, D_OUT)).astype(np.float32)
b = rng.standard_normal((D_OUT,)).astype(np.float32)


def graph(name: str) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", D_IN])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", D_OUT])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    g = helper.make_graph(nodes, name, [x], [y], [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="siglip-edge-runtime-tests")
    m.ir_version = 8
    return m


os.makedirs(OUT, exist_ok=True)
inline = graph("affine_softmax")
onnx.save(inline, os.path.join(OUT, "affine-softmax.onnx"))
ext = graph("affine_softmax_ext")
onnx.save(ext, os.path.join(OUT, "affine-softmax-ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
          location="affine-softmax-ext.onnx.data", size_threshold=0)

x = rng.standard_normal((3, D_IN)).astype(np.float32)
sess = ort.InferenceSession(os.path.join(OUT, "affine-softmax.onnx"), providers=["CPUExecutionProvider"])
(y,) = sess.run(["y"], {"x": x})
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"source": "onnxruntime " + ort.__version__ + " CPU", "x": {"dims": list(x.shape), "data": x.ravel().tolist()},
               "y": {"dims": list(y.shape), "data": y.ravel().tolist()}}, f)
print("wrote", OUT)
