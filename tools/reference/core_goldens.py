"""Goldens for packages/core, computed by the reference (transformers 5.18.0 + torch, CPU).

1. Parameter counts: every registry checkpoint is instantiated on torch's meta device from a transformers
   SiglipConfig / Siglip2Config built from the registry's shapes; vision, text, token-table and total counts.
2. Logits: SiglipModel's formula (normalised embeddings, logits_per_text = t @ i.T * exp(logit_scale) + logit_bias)
   on seeded random embeddings.
3. NaFlex position-embedding resize: torch F.interpolate(bilinear, align_corners=False, antialias=True) of a seeded
   16x16xD grid to several (h, w), as Siglip2VisionEmbeddings.resize_positional_embeddings does.

Run: node_modules/.bin/node packages/core/scripts/dump-registry.ts > /tmp/registry.json
     tools/reference/.venv/bin/python tools/reference/core_goldens.py /tmp/registry.json
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import Siglip2Config, Siglip2Model, SiglipConfig, SiglipModel

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "fixtures/goldens/core"


def tower(t):
    return dict(hidden_size=t["hiddenSize"], num_hidden_layers=t["numLayers"], num_attention_heads=t["numHeads"], intermediate_size=t["intermediateSize"])


def counts(c):
    text = dict(tower(c["text"]), vocab_size=c["text"]["vocabSize"], max_position_embeddings=c["text"]["maxPositions"], projection_size=c["text"]["projectionSize"])
    vision = dict(tower(c["vision"]), patch_size=c["patchSize"])
    if c["modelType"] == "siglip":
        cfg, cls = SiglipConfig(text_config=text, vision_config=dict(vision, image_size=c["imageSize"])), SiglipModel
    else:
        cfg, cls = Siglip2Config(text_config=text, vision_config=dict(vision, num_patches=c["numPositions"])), Siglip2Model
    with torch.device("meta"):
        m = cls(cfg)
    n = lambda mod: sum(p.numel() for p in mod.parameters())
    return {
        "vision": n(m.vision_model),
        "text": n(m.text_model),
        "tokenTable": m.text_model.embeddings.token_embedding.weight.numel(),
        "total": n(m),
    }


def logits_golden():
    rng = np.random.default_rng(7)
    img = rng.standard_normal((3, 16)).astype(np.float32)
    txt = rng.standard_normal((4, 16)).astype(np.float32)
    scale, bias = np.float32(2.302585), np.float32(-10.0)
    i = torch.from_numpy(img)
    t = torch.from_numpy(txt)
    i = i / i.norm(p=2, dim=-1, keepdim=True)
    t = t / t.norm(p=2, dim=-1, keepdim=True)
    per_text = t @ i.t() * torch.tensor(scale).exp() + torch.tensor(bias)
    return {"images": img.tolist(), "texts": txt.tolist(), "logitScale": float(scale), "logitBias": float(bias), "logitsPerImage": per_text.t().tolist(), "probs": torch.sigmoid(per_text.t()).tolist()}


def resize_golden():
    rng = np.random.default_rng(11)
    D = 8
    grid = (rng.standard_normal((16, 16, D)) * 3).astype(np.float32)
    cases = []
    for h, w in [(16, 16), (14, 18), (8, 32), (25, 10), (1, 1), (3, 64), (32, 8), (16, 1), (1, 16), (2, 1), (5, 1), (20, 1), (256, 1), (1, 256)]:
        x = torch.from_numpy(grid).permute(2, 0, 1).unsqueeze(0)  # [1, D, 16, 16]
        r = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        cases.append({"h": h, "w": w, "out": r[0].permute(1, 2, 0).reshape(-1).tolist()})  # (y, x, d)
    return {"G": 16, "D": D, "grid": grid.reshape(-1).tolist(), "cases": cases}


def main():
    registry = json.loads(Path(sys.argv[1]).read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    golden = {
        "reference": {"transformers": transformers.__version__, "torch": torch.__version__},
        "script": "tools/reference/core_goldens.py",
        "parameterCounts": {c["id"]: counts(c) for c in registry},
        "logits": logits_golden(),
        "positionResize": resize_golden(),
    }
    (OUT / "core.json").write_text(json.dumps(golden) + "\n")
    print(f"wrote {OUT / 'core.json'}")


if __name__ == "__main__":
    main()
