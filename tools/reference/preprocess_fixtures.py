"""Generates the synthetic edge-case images in fixtures/images/ with Pillow (deterministic; commit the output).

Run: tools/reference/.venv/bin/python tools/reference/preprocess_fixtures.py
Each image is small; together they cover every decoder branch the preprocess package claims: sizes 1x1, 1x4000,
4000x1, grey, palette, 1/2/4/8/16-bit PNG, alpha, interlacing, every EXIF orientation, progressive / greyscale / CMYK
JPEG, every chroma subsampling, WebP lossy/lossless/alpha, animated GIF, BMP variants.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "images"


def pattern(w: int, h: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus mild noise plus a hard edge: exercises resampling and JPEG chroma alike."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(x / max(w, 1) * 6.3 + seed)
    g = 255.0 * y / max(h - 1, 1)
    b = 255.0 * ((x + y) % 23 < 11)
    img = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def exif_with_orientation(o: int) -> bytes:
    ex = Image.Exif()
    ex[0x0112] = o
    return ex.tobytes()


def save(img: Image.Image, name: str, **kw) -> None:
    img.save(OUT / name, **kw)


def png_16bit_rgb(w: int, h: int) -> bytes:
    """Pillow cannot write 16-bit RGB PNG; build one by hand (IHDR bit depth 16, colour type 2)."""
    rng = np.random.RandomState(7)
    data = rng.randint(0, 65536, (h, w, 3)).astype(">u2")
    raw = b"".join(b"\x00" + data[y].tobytes() for y in range(h))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def png_adam7(arr: np.ndarray, colour_type: int = 2) -> bytes:
    """Pillow cannot write interlaced PNG; build an Adam7 file by hand (filter 0 on every scanline)."""
    h, w = arr.shape[:2]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        raw += b"".join(b"\x00" + sub[y].tobytes() for y in range(sub.shape[0]))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    base = pattern(97, 61)
    rgb = Image.fromarray(base)

    # Sizes
    save(Image.fromarray(pattern(1, 1, 1)), "tiny-1x1.png")
    save(Image.fromarray(pattern(1, 4000, 2)), "tall-1x4000.png")
    save(Image.fromarray(pattern(4000, 1, 3)), "wide-4000x1.png")
    save(Image.fromarray(pattern(17, 900, 4)), "strip-17x900.png")
    save(rgb, "rgb.png")

    # PNG colour types and depths
    save(rgb.convert("L"), "grey-8bit.png")
    grey16 = pattern(64, 48, 5)[..., 0].astype(np.uint16) * 4  # spans 0..1020: Pillow clips I;16 -> L at 255
    save(Image.frombytes("I;16", (64, 48), grey16.astype("<u2").tobytes()), "grey-16bit.png")
    (OUT / "rgb-16bit.png").write_bytes(png_16bit_rgb(40, 30))
    save(rgb.convert("1"), "bilevel-1bit.png")
    save(rgb.convert("L").quantize(4).convert("L").convert("P", palette=Image.ADAPTIVE, colors=4), "palette-2bit.png", bits=2)
    save(rgb.quantize(16), "palette-4bit.png", bits=4)
    pal = rgb.quantize(200)
    save(pal, "palette-8bit-trns.png", transparency=3)
    la = Image.merge("LA", [rgb.convert("L"), Image.fromarray(pattern(97, 61, 9)[..., 2])])
    save(la, "grey-alpha.png")
    rgba = Image.merge("RGBA", [*rgb.split(), Image.fromarray(pattern(97, 61, 11)[..., 1])])
    save(rgba, "rgba.png")
    (OUT / "interlaced.png").write_bytes(png_adam7(base))
    (OUT / "interlaced-rgba.png").write_bytes(png_adam7(np.asarray(rgba), 6))
    save(rgb, "orientation-6.png", exif=exif_with_orientation(6))

    # JPEG
    for o in range(1, 9):
        save(rgb, f"orientation-{o}.jpg", quality=90, exif=exif_with_orientation(o))
    save(rgb, "progressive.jpg", quality=85, progressive=True)
    save(rgb.convert("L"), "grey.jpg", quality=90)
    save(rgb.convert("CMYK"), "cmyk.jpg", quality=90)
    save(Image.fromarray(pattern(333, 7, 14)).convert("CMYK"), "cmyk-odd-restart.jpg", quality=80, restart_marker_blocks=5)
    for sub, name in [(0, "444"), (1, "422"), (2, "420")]:
        save(rgb, f"subsampling-{name}.jpg", quality=88, subsampling=sub)
    save(Image.fromarray(pattern(1, 1, 12)), "tiny-1x1.jpg", quality=90)
    save(Image.fromarray(pattern(333, 7, 13)), "odd-333x7.jpg", quality=75)

    # WebP
    save(rgb, "lossy.webp", quality=80)
    save(rgb, "lossless.webp", lossless=True)
    save(rgba, "lossy-alpha.webp", quality=80)
    save(rgba, "lossless-alpha.webp", lossless=True)
    save(rgb, "orientation-3.webp", quality=80, exif=exif_with_orientation(3))

    # GIF
    frames = [Image.fromarray(pattern(97, 61, s)).quantize(64) for s in (20, 21, 22)]
    frames[0].save(OUT / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    save(rgb.convert("L"), "grey.gif")
    save(rgb.quantize(32), "interlaced.gif", interlace=True)
    save(rgb.quantize(100), "transparent.gif", transparency=5)

    # BMP
    save(rgb, "rgb-24bit.bmp")
    save(rgb.convert("L"), "grey-8bit.bmp")
    save(rgb.quantize(16), "palette-8bit.bmp")
    save(rgb.convert("1"), "bilevel-1bit.bmp")
    save(rgba, "rgba-32bit.bmp")

    for p in sorted(q for q in OUT.iterdir() if q.suffix != ".md"):
        print(f"{p.name:28s} {p.stat().st_size:8d} bytes  {Image.open(p).mode}")


if __name__ == "__main__":
    main()
