"""Reference goldens for @siglip-edge/preprocess, produced by the real Hugging Face PIL-path processors.

Run: tools/reference/.venv/bin/python tools/reference/preprocess_goldens.py
Writes fixtures/goldens/preprocess/goldens.json (sha256 hashes per image x mode x size) and a few full tensors
(*.npy.gz) for diagnostics. Reference: transformers 5.18.0 `SiglipImageProcessorPil` (FixRes) and
`Siglip2ImageProcessorPil` (NaFlex), Pillow 12.3.0; images loaded with `transformers.image_utils.load_image`
(PIL.Image.open + ImageOps.exif_transpose + convert("RGB")), exactly as HF pipelines do.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import PIL
import PIL.features
import transformers
from PIL import Image
from transformers import SiglipImageProcessorPil, Siglip2ImageProcessorPil
from transformers.image_utils import load_image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "fixtures" / "goldens" / "preprocess"
FIXRES_SIZES = [224, 256, 384, 512]
NAFLEX_BUDGETS = [256, 576, 1024]
BICUBIC_SIZES = [224, 384]
# Full tensors for diagnostics (small images only; the hashes are the real check).
FULL = {"images/rgb.png": ["fixres-224", "naflex-256"], "images/orientation-6.jpg": ["naflex-256"]}
# Decoded RGB kept in full for small JPEGs, so a decoder difference can be measured in grey levels.
JPEG_RGB_MAX_BYTES = 200_000


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def save_npy_gz(name: str, a: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, a)
    (OUT / f"{name}.npy.gz").write_bytes(gzip.compress(buf.getvalue(), 9, mtime=0))


def fixture_files() -> list[str]:
    files = [f"images/{p.name}" for p in sorted((ROOT / "fixtures" / "images").iterdir()) if p.suffix != ".md"]
    manifest = json.loads((ROOT / "fixtures" / "photos" / "manifest.json").read_text())
    files += [f"photos/{e['file']}" for e in manifest]
    return files


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.npy.gz"):
        old.unlink()
    fixres = {s: SiglipImageProcessorPil(size={"height": s, "width": s}, resample=Image.BILINEAR) for s in FIXRES_SIZES}
    bicubic = {s: SiglipImageProcessorPil(size={"height": s, "width": s}, resample=Image.BICUBIC) for s in BICUBIC_SIZES}
    naflex = Siglip2ImageProcessorPil()
    records = {}
    for rel in fixture_files():
        path = ROOT / "fixtures" / rel
        try:
            img = load_image(str(path))
        except Exception as e:  # noqa: BLE001 - recorded as an expected decode failure
            records[rel] = {"error": f"{type(e).__name__}: {e}"}
            print(f"{rel}: load_image failed: {e}", file=sys.stderr)
            continue
        rgb = np.asarray(img)
        raw = Image.open(path)
        rec: dict = {
            "width": img.width,
            "height": img.height,
            "format": raw.format,
            "mode": raw.mode,
            "rgb": sha(rgb),
            "fixres": {},
            "bicubic": {},
            "naflex": {},
        }
        if raw.format == "JPEG" and rgb.nbytes <= JPEG_RGB_MAX_BYTES:
            name = "rgb-" + rel.replace("/", "_")
            save_npy_gz(name, rgb)
            rec["rgbFile"] = f"{name}.npy.gz"
        for s, p in fixres.items():
            pv = p(img, return_tensors="np")["pixel_values"]
            assert pv.dtype == np.float32 and pv.shape == (1, 3, s, s)
            rec["fixres"][str(s)] = sha(pv)
            if f"fixres-{s}" in FULL.get(rel, []):
                save_npy_gz(f"{rel.replace('/', '_')}.fixres-{s}", pv)
        for s, p in bicubic.items():
            rec["bicubic"][str(s)] = sha(p(img, return_tensors="np")["pixel_values"])
        for n in NAFLEX_BUDGETS:
            out = naflex(img, max_num_patches=n, return_tensors="np")
            pv, mask, shapes = out["pixel_values"], out["pixel_attention_mask"], out["spatial_shapes"]
            assert pv.dtype == np.float32 and pv.shape == (1, n, 768), pv.shape
            assert mask.dtype == np.int32 and shapes.dtype == np.int64
            nh, nw = (int(v) for v in shapes[0])
            assert int(mask.sum()) == nh * nw
            rec["naflex"][str(n)] = {"sha256": sha(pv), "spatialShape": [nh, nw]}
            if f"naflex-{n}" in FULL.get(rel, []):
                save_npy_gz(f"{rel.replace('/', '_')}.naflex-{n}", pv)
        records[rel] = rec
        print(rel, rec["width"], rec["height"], rec["mode"], file=sys.stderr)

    # The pixel table, straight from the FixRes processor on a 16x16 image holding every uint8 value once.
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    lut = fixres[224].preprocess(Image.fromarray(np.stack([ramp] * 3, -1)), size={"height": 16, "width": 16}, return_tensors="np")
    lut_values = lut["pixel_values"][0, 0].reshape(-1)

    meta = {
        "generator": "tools/reference/preprocess_goldens.py",
        "transformers": transformers.__version__,
        "pillow": PIL.__version__,
        "libjpeg_turbo": PIL.features.version_feature("libjpeg_turbo"),
        "libwebp": PIL.features.version_module("webp"),
        "numpy": np.__version__,
        "classes": {
            "fixres": f"{SiglipImageProcessorPil.__module__}.{SiglipImageProcessorPil.__name__}",
            "naflex": f"{Siglip2ImageProcessorPil.__module__}.{Siglip2ImageProcessorPil.__name__}",
        },
        "loader": "transformers.image_utils.load_image (exif_transpose + convert('RGB'))",
        "hash": "sha256 of the C-order little-endian tensor bytes (float32 pixel_values; uint8 RGB for 'rgb')",
        "fixresSizes": FIXRES_SIZES,
        "bicubicSizes": BICUBIC_SIZES,
        "naflexBudgets": NAFLEX_BUDGETS,
        "lut": [float(v) for v in lut_values],
    }
    (OUT / "goldens.json").write_text(json.dumps({"meta": meta, "images": records}, indent=1) + "\n")


if __name__ == "__main__":
    main()
