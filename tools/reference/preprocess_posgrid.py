"""Goldens for the NaFlex position-grid resize (siglip2-spec §6.2): torch F.interpolate(mode="bilinear",
align_corners=False, antialias=True), as Siglip2VisionEmbeddings.resize_positional_embeddings calls it.

Run: tools/reference/.venv/bin/python tools/reference/preprocess_posgrid.py
Writes fixtures/goldens/preprocess/position-grid.json (a seeded 16x16x4 float32 grid and its resized versions).
"""

import base64
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "goldens" / "preprocess" / "position-grid.json"
G, D = 16, 4
# Patch grids NaFlex produces (downsampling one or both axes triggers antialiasing) plus identity and upsampling.
TARGETS = [(16, 16), (14, 18), (13, 19), (8, 32), (1, 256), (256, 1), (25, 10), (2, 1), (24, 24), (32, 32), (7, 36)]


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def main() -> None:
    grid = np.random.RandomState(1234).standard_normal((G, G, D)).astype(np.float32)
    t = torch.from_numpy(grid).permute(2, 0, 1).unsqueeze(0)  # [1, D, G, G]
    cases = []
    for h, w in TARGETS:
        r = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        cases.append({"h": h, "w": w, "out": b64(r[0].permute(1, 2, 0).numpy())})  # [h, w, D]
    OUT.write_text(json.dumps({"torch": torch.__version__, "G": G, "D": D, "grid": b64(grid), "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
