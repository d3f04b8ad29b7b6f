"""Reference goldens for @siglip-edge/export: graph parity on model inputs.

For each random-weight checkpoint (written by the TS seeded generator, packages/export/scripts/generate-checkpoint.ts),
load it with Hugging Face transformers (SiglipModel / Siglip2Model, torch CPU, float32, eager attention) and record,
for fixed synthetic inputs, the exact model inputs and the reference outputs:
  input_ids.npy int64 [T, 64]; pixel_values.npy float32; (NaFlex) pixel_attention_mask.npy int32 [I, N],
  spatial_shapes.npy int64 [I, 2]; text_pooled.npy / image_pooled.npy (pooler_output), text_embeds.npy /
  image_embeds.npy (L2-normalised), logits_per_image.npy [I, T]; meta.json (versions, seed, weight sha256).
Pixels are synthetic (smooth patterns + noise on the 1/255 LUT grid); token ids are random ids in SigLIP 2 form
(ids, EOS=1, right-padded with 0 to 64; one sequence truncated with a sticky EOS).

Usage: tools/reference/.venv/bin/python tools/reference/export_goldens.py [--preset tiny-fixres] [--out DIR] [--checkpoint DIR]
"""
import argparse, hashlib, json, os, subprocess, sys, tempfile
import numpy as np
import torch
import transformers
from transformers import SiglipModel, Siglip2Model

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE = os.path.join(ROOT, "node_modules", ".bin", "node")
SEED = 1234
# NaFlex grids (h, w): all but one under 16 per side (the 16x16 table is downsampled, antialias matters);
# one upsamples (2 x 20); (8, 8) fills the 64-patch budget (no padding).
NAFLEX_GRIDS = [(3, 5), (8, 8), (6, 10), (12, 5), (15, 4), (2, 20)]
NAFLEX_MAX_PATCHES = 64


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def token_ids(vocab, rng):
    rows = []
    for n in (3, 10, 30, 62):
        ids = list(rng.integers(2, vocab, size=n)) + [1]
        rows.append(ids + [0] * (64 - len(ids)))
    rows.append(list(rng.integers(2, vocab, size=63)) + [1])  # truncated: sticky EOS at position 63
    return np.array(rows, dtype=np.int64)


def synthetic_image(h, w, rng):
    """uint8 HxWx3: gradients + a disc + noise, mapped through the SigLIP pixel LUT f32(f32(v/255 - 0.5) * 2)."""
    y, x = np.mgrid[0:h, 0:w]
    cy, cx, r = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w, rng.uniform(0.15, 0.4) * min(h, w)
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 255 * ((x + y) % 17) / 16], -1)
    img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.integers(0, 256, size=3)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    return (((img.astype(np.float32) / np.float32(255)) - np.float32(0.5)) * np.float32(2)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", action="append")
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "goldens", "export"))
    ap.add_argument("--checkpoint", help="use this checkpoint dir instead of generating (one preset)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(0)
    for preset in args.preset or ["tiny-fixres", "tiny-naflex"]:
        with tempfile.TemporaryDirectory() as tmp:
            ck = args.checkpoint
            if ck is None:
                ck = os.path.join(tmp, preset)
                subprocess.run([NODE, os.path.join(ROOT, "packages/export/scripts/generate-checkpoint.ts"), preset, ck, "--seed", str(args.seed)], check=True)
            run(preset, ck, args)


def run(preset, ck, args):
    cfg = json.load(open(os.path.join(ck, "config.json")))
    naflex = cfg["model_type"] == "siglip2"
    cls = Siglip2Model if naflex else SiglipModel
    model = cls.from_pretrained(ck, attn_implementation="eager", dtype=torch.float32).eval()
    rng = np.random.default_rng(SEED)
    ids = token_ids(cfg["text_config"]["vocab_size"], rng)
    out = {"input_ids": ids}
    with torch.no_grad():
        ti = torch.from_numpy(ids)
        if naflex:
            P = cfg["vision_config"]["patch_size"]
            N = NAFLEX_MAX_PATCHES
            pv = np.zeros((len(NAFLEX_GRIDS), N, 3 * P * P), np.float32)
            mask = np.zeros((len(NAFLEX_GRIDS), N), np.int32)
            for b, (h, w) in enumerate(NAFLEX_GRIDS):
                img = synthetic_image(h * P, w * P, rng)  # HWC
                patches = img.reshape(h, P, w, P, 3).transpose(0, 2, 1, 3, 4).reshape(h * w, P * P * 3)  # (y, x, c)
                pv[b, : h * w] = patches
                mask[b, : h * w] = 1
            shapes = np.array(NAFLEX_GRIDS, np.int64)
            vis_in = dict(pixel_values=torch.from_numpy(pv), pixel_attention_mask=torch.from_numpy(mask), spatial_shapes=torch.from_numpy(shapes))
            out.update(pixel_values=pv, pixel_attention_mask=mask, spatial_shapes=shapes)
        else:
            S = cfg["vision_config"]["image_size"]
            pv = np.stack([synthetic_image(S, S, rng).transpose(2, 0, 1) for _ in range(4)]).astype(np.float32)
            vis_in = dict(pixel_values=torch.from_numpy(pv))
            out["pixel_values"] = pv
        img = model.vision_model(**vis_in).pooler_output
        txt = model.text_model(input_ids=ti).pooler_output
        full = model(input_ids=ti, **vis_in)
        out["image_pooled"] = img.numpy()
        out["text_pooled"] = txt.numpy()
        out["image_embeds"] = full.image_embeds.numpy()
        out["text_embeds"] = full.text_embeds.numpy()
        out["logits_per_image"] = full.logits_per_image.numpy()
        assert np.allclose(full.image_embeds.numpy() * np.linalg.norm(img.numpy(), axis=1, keepdims=True), img.numpy(), atol=1e-5)
    dest = os.path.join(args.out, preset)
    os.makedirs(dest, exist_ok=True)
    for k, v in out.items():
        np.save(os.path.join(dest, k + ".npy"), np.ascontiguousarray(v))
    weights = os.path.join(ck, "model.safetensors")
    meta = {
        "preset": preset,
        "seed": args.seed,
        "model_type": cfg["model_type"],
        "weights_sha256": sha256(weights) if os.path.exists(weights) else None,
        "logit_scale": float(model.logit_scale.item()),
        "logit_bias": float(model.logit_bias.item()),
        "naflex_grids": NAFLEX_GRIDS if naflex else None,
        "reference": {"transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__, "attn": "eager", "dtype": "float32"},
        "generator": "node packages/export/scripts/generate-checkpoint.ts %s DIR --seed %d" % (preset, args.seed),
        "script": "tools/reference/export_goldens.py",
    }
    json.dump(meta, open(os.path.join(dest, "meta.json"), "w"), indent=2)
    print(preset, {k: v.shape for k, v in out.items()}, file=sys.stderr)


if __name__ == "__main__":
    main()
