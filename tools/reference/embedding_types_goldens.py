"""Goldens for packages/core's embedding types (embedding-types.ts), computed with numpy.

- ubinary / binary: exactly sentence-transformers' `quantize_embeddings` (precision "ubinary" / "binary"), the
  convention Cohere's and Jina's APIs follow: `np.packbits(e > 0)` (MSB-first) and that minus 128 as int8.
- int8 / uint8: siglip-edge's per-vector rule (no calibration set at serving time): scale = float32(max|v| / 127),
  q = round-half-away-from-zero(v / scale) clipped to [-127, 127]; uint8 = q + 128.
Vectors: seeded normals, L2-normalised, at D = 64, 96 and 13 (a width that is not a multiple of 8), plus one with
exact zeros and ties.

Run: tools/reference/.venv/bin/python tools/reference/embedding_types_goldens.py   (or /work/pyenv/bin/python)
Writes fixtures/goldens/core/embedding-types.json.
"""
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "fixtures" / "goldens" / "core" / "embedding-types.json"


def int8_rule(v):
    scale = np.float32(np.abs(v).max() / np.float32(127))
    if scale == 0:
        return np.zeros(v.shape, np.int8), float(scale)
    x = v.astype(np.float64) / np.float64(scale)
    q = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), -127, 127).astype(np.int8)
    return q, float(scale)


def main():
    rng = np.random.default_rng(16)
    vectors = []
    for d in (64, 96, 13, 64):
        v = rng.standard_normal(d).astype(np.float32)
        vectors.append((v / np.linalg.norm(v)).astype(np.float32))
    tie = np.zeros(16, np.float32)
    tie[[0, 3, 9]] = [1.0, -0.5, 0.25]  # exact zeros (bit 0), a half-way value (-0.5 * 127 = -63.5 -> -64)
    vectors.append(tie)
    cases = []
    for v in vectors:
        e = v[None, :]
        ubinary = np.packbits(e > 0).reshape(e.shape[0], -1)  # sentence-transformers, precision="ubinary"
        binary = (np.packbits(e > 0).reshape(e.shape[0], -1) - 128).astype(np.int8)  # precision="binary"
        q, scale = int8_rule(v)
        cases.append({
            "float": v.tolist(),
            "int8": q.tolist(),
            "uint8": (q.astype(np.int16) + 128).astype(np.uint8).tolist(),
            "scale": scale,
            "binary": binary[0].tolist(),
            "ubinary": ubinary[0].tolist(),
        })
    OUT.write_text(json.dumps({"script": "tools/reference/embedding_types_goldens.py", "numpy": np.__version__, "cases": cases}) + "\n")
    print(f"wrote {OUT} ({len(cases)} vectors)")


if __name__ == "__main__":
    main()
