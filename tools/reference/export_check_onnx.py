"""Dev check for @siglip-edge/export graphs: onnx.checker (full check, external data resolved) and Python
onnxruntime, on every .onnx file of the given bundle / transformers.js directories. Not part of npm test.

Usage: tools/reference/.venv/bin/python tools/reference/export_check_onnx.py DIR [DIR ...]
"""
import collections, glob, os, sys
import onnx
import onnxruntime as ort


def main():
    for d in sys.argv[1:]:
        for path in sorted(glob.glob(os.path.join(d, "**", "*.onnx"), recursive=True)):
            onnx.checker.check_model(path, full_check=True)
            m = onnx.load(path, load_external_data=False)
            ops = collections.Counter(n.op_type for n in m.graph.node)
            s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            print(f"ok {os.path.relpath(path, d)}: opsets {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, "
                  f"{len(m.graph.node)} nodes, inputs {[i.name for i in s.get_inputs()]}, outputs {[o.name for o in s.get_outputs()]}, "
                  f"ops {dict(sorted(ops.items()))}")


if __name__ == "__main__":
    main()
