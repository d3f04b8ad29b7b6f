"""JPEG decoder coverage set for the preprocess package's two JPEG routes (WASM and pure TS), with Pillow's pixels.

Run: tools/reference/.venv/bin/python tools/reference/preprocess_jpeg_variants.py
Writes fixtures/goldens/preprocess/jpeg-variants/*.jpg (small, deterministic, written by Pillow 12.3 / libjpeg-turbo
3.1) and variants.json: per file the size, the colour coding and the sha256 of
`ImageOps.exif_transpose(Image.open(f)).convert("RGB")` as bytes ([H, W, 3] uint8), i.e. what HF's load_image sees.
Covers what the main fixtures do not: restart intervals in YCbCr / grey files, progressive files of odd sizes and
every subsampling, components 1-2 samples wide (where libjpeg switches from fancy to plain upsampling),
Huffman-optimised tables, qualities 50-100. Then four-component files (only the TS decoder reads them; the WASM build
cannot output CMYK): CMYK as Pillow writes it (Adobe marker, transform 0), YCCK, CMYK samples under an Adobe
transform of 1 (libjpeg reads any transform but 0 as YCCK) and CMYK without an Adobe marker; baseline and
progressive, subsampled (Pillow subsamples the first component) or not, restart intervals 0 / 1 / 3.
Pillow cannot write YCCK: the script writes the YCCK samples (libjpeg's jccolor.c cmyk_ycck_convert, in floats)
through Pillow's CMYK encoder and then sets the Adobe marker's transform byte to 2; the pixels are still Pillow's
decode of the resulting file.
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


def ycck_samples(cmyk: np.ndarray) -> np.ndarray:
    """jccolor.c cmyk_ycck_convert on the stored samples: YCbCr of (255 - C, 255 - M, 255 - Y), K as it is; [H, W, 4] uint8."""
    r, g, b = (255.0 - cmyk[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.16874 * r - 0.33126 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.41869 * g - 0.08131 * b + 128
    ycc = np.clip(np.round(np.stack([y, cb, cr], -1)), 0, 255).astype(np.uint8)
    return np.concatenate([ycc, cmyk[..., 3:]], -1)


def with_adobe(data: bytes, transform: int | None) -> bytes:
    """Sets the transform byte of the Adobe APP14 segment, or removes the segment (None)."""
    i = data.index(b"Adobe") - 4  # the segment's marker
    assert data[i : i + 2] == b"\xff\xee", "no APP14 where Pillow writes it"
    if transform is None:
        return data[:i] + data[i + 2 + ((data[i + 2] << 8) | data[i + 3]) :]
    out = bytearray(data)
    out[i + 4 + 11] = transform
    return bytes(out)


def cmyk_pattern(w: int, h: int, rng: np.random.RandomState) -> np.ndarray:
    """CMYK with a varying black channel (Pillow's own RGB -> CMYK leaves K at 0): grey component replacement of the
    RGB pattern plus noise on K; [H, W, 4] uint8 in Pillow's convention (0 = no ink)."""
    cmy = 255 - pattern(w, h, rng).astype(np.int32)
    k = np.clip(cmy.min(-1) + rng.randint(-40, 41, (h, w)), 0, 255)
    return np.concatenate([np.clip(cmy - k[..., None], 0, 255), k[..., None]], -1).astype(np.uint8)


def four_component_variants() -> dict[str, dict[str, object]]:
    rnd = random.Random(4)
    rng = np.random.RandomState(4)
    meta: dict[str, dict[str, object]] = {}
    # colour coding in the file -> (samples to encode, Adobe transform byte or None to drop the marker)
    kinds = {"cmyk": 0, "ycck": 2, "adobe1": 1, "noadobe": None}
    for w, h in [(1, 1), (3, 5), (17, 9), (33, 31), (97, 61), (8, 40)]:
        for kind, transform in kinds.items():
            for prog in (False, True):
                # Pillow writes CMYK inverted (raw mode CMYK;I), as Adobe does: these are the samples in the file.
                stored = 255 - cmyk_pattern(w, h, rng)
                samples = ycck_samples(stored) if kind == "ycck" else stored
                sub = rnd.choice([0, 1, 2])
                rst = rnd.choice([None, 1, 3])
                kw: dict[str, object] = {"quality": rnd.choice([50, 75, 90, 100]), "progressive": prog, "optimize": rnd.random() < 0.4, "subsampling": sub}
                if rst is not None:
                    kw["restart_marker_blocks"] = rst
                buf = io.BytesIO()
                Image.fromarray(255 - samples, "CMYK").save(buf, "JPEG", **kw)
                data = with_adobe(buf.getvalue(), transform)
                name = f"{w}x{h}-{kind}{['444', '422', '420'][sub]}-{'prog' if prog else 'base'}-rst{rst or 0}.jpg"
                (OUT / name).write_bytes(data)
                dec = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
                colour = "ycck" if kind in ("ycck", "adobe1") else "cmyk"
                meta[name] = {"width": dec.width, "height": dec.height, "colour": colour, "rgb": hashlib.sha256(np.asarray(dec).tobytes()).hexdigest(), "options": kw}
    return meta


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
                colour = "grey" if mode == "L" else "ycc"
                meta[name] = {"width": dec.width, "height": dec.height, "colour": colour, "rgb": hashlib.sha256(np.asarray(dec).tobytes()).hexdigest(), "options": kw}
    meta.update(four_component_variants())
    import PIL

    (OUT / "variants.json").write_text(json.dumps({"pillow": PIL.__version__, "files": meta}, indent=1, sort_keys=True) + "\n")
    print(f"{len(meta)} files, {sum((OUT / n).stat().st_size for n in meta)} bytes")


if __name__ == "__main__":
    main()
