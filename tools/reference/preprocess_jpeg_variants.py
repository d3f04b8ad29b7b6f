"""JPEG decoder coverage set for the preprocess package's two JPEG routes (WASM and pure TS), with Pillow's pixels.

Run: tools/reference/.venv/bin/python tools/reference/preprocess_jpeg_variants.py
Writes fixtures/goldens/preprocess/jpeg-variants/*.jpg (small, deterministic, written by Pillow 12.3 / libjpeg-turbo
3.1) and variants.json: per file the size and the sha256 of `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`
as bytes ([H, W, 3] uint8), i.e. what HF's load_image sees. Covers what the main fixtures do not: restart intervals
in YCbCr / grey files, progressive files of odd sizes and every subsampling, components 1-2 samples wide (where
libjpeg switches from fancy to plain upsampling), Huffman-optimised tables, qualities 50-100.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "goldens" / "preprocess" / "jpeg-variants"


def pattern(w: int, h: int, rng: np.random.RandomState) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([x * 255 / max(w, 1), y * 255 / max(h, 1), ((x.astype(int) ^ y.astype(int)) & 255).astype(np.float64)], -1)
    return np.clip(np.round(img + rng.normal(0, 25, img.shape)), 0, 255).astype(np.uint8)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(3)
    rng = np.random.RandomState(3)
    sizes = [(1, 1), (2, 2), (3, 5), (4, 3), (17, 9), (33, 31), (97, 61), (8, 40), (40, 8)]
    kinds = [("RGB", 0), ("RGB", 1), ("RGB", 2), ("L", None)]
    meta: dict[str, dict[str, object]] = {}
    for w, h in sizes:
        for mode, sub in kinds:
            for prog in (False, True):
                im = Image.fromarray(pattern(w, h, rng), "RGB")
                if mode == "L":
                    im = im.convert("L")
                rst = rnd.choice([None, 1, 3])
                kw: dict[str, object] = {"quality": rnd.choice([50, 75, 90, 100]), "progressive": prog, "optimize": rnd.random() < 0.4}
                if sub is not None:
                    kw["subsampling"] = sub
                if rst is not None:
                    kw["restart_marker_blocks"] = rst
                buf = io.BytesIO()
                im.save(buf, "JPEG", **kw)
                name = f"{w}x{h}-{mode.lower()}{'' if sub is None else ['444', '422', '420'][sub]}-{'prog' if prog else 'base'}-rst{rst or 0}.jpg"
                (OUT / name).write_bytes(buf.getvalue())
                dec = ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))).convert("RGB")
                meta[name] = {"width": dec.width, "height": dec.height, "rgb": hashlib.sha256(np.asarray(dec).tobytes()).hexdigest(), "options": kw}
    import PIL

    (OUT / "variants.json").write_text(json.dumps({"pillow": PIL.__version__, "files": meta}, indent=1, sort_keys=True) + "\n")
    print(f"{len(meta)} files, {sum((OUT / n).stat().st_size for n in meta)} bytes")


if __name__ == "__main__":
    main()
