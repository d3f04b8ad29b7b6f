"""Pillow + Hugging Face processor throughput on the fixture photos, for @siglip-edge/preprocess's bench.

Usage: preprocess_bench.py PHOTOS_DIR [BIG_JPEG]
Prints JSON: images/s for decode + FixRes 224 and decode + NaFlex 256 (load_image + SiglipImageProcessorPil /
Siglip2ImageProcessorPil, one thread), and peak RSS for BIG_JPEG through decode + FixRes 224 when given.
"""

import io
import json
import resource
import sys
import time
from pathlib import Path

from PIL import Image
from transformers import Siglip2ImageProcessorPil, SiglipImageProcessorPil
from transformers.image_utils import load_image


def main() -> None:
    photos = Path(sys.argv[1])
    manifest = json.loads((photos / "manifest.json").read_text())
    blobs = [(photos / e["file"]).read_bytes() for e in manifest]
    fixres = SiglipImageProcessorPil(size={"height": 224, "width": 224}, resample=Image.BILINEAR)
    naflex = Siglip2ImageProcessorPil()
    out = {}
    for name, run in [
        ("fixres224", lambda im: fixres(im, return_tensors="np")),
        ("naflex256", lambda im: naflex(im, max_num_patches=256, return_tensors="np")),
    ]:
        for b in blobs[:10]:  # warm-up
            run(load_image(Image.open(io.BytesIO(b))))
        t = time.perf_counter()
        for b in blobs:
            run(load_image(Image.open(io.BytesIO(b))))
        out[name] = len(blobs) / (time.perf_counter() - t)
    if len(sys.argv) > 2:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        fixres(load_image(sys.argv[2]), return_tensors="np")
        out["big"] = {"ms": (time.perf_counter() - t) * 1000, "rssBeforeMiB": before, "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
