"""Reference check of the planted-outlier checkpoints (issue 15; packages/export/src/generate.ts, OutlierOptions).

Loads an ordinary and an outlier checkpoint of the same seed with Hugging Face transformers (SiglipModel for FixRes,
Siglip2Model for NaFlex; torch CPU, float32, eager attention) and checks that
  1. the fp32 function is unchanged: pooler_output of both towers, cosine >= 0.99999 per row (max |diff| reported),
     and the logits;
  2. the LayerNorm outputs really carry the planted channels: for every LayerNorm of both towers, the per-channel
     mean |output| over all tokens; the planted channels (outliers.json) must be the largest ones, and the
     max / median channel ratio is reported for both checkpoints.
Inputs: the synthetic images and random SigLIP 2 token ids of export_goldens.py (same seed).
Writes a JSON record (default fixtures/goldens/export/outliers/record.json, the one packages/export/test/outliers.test.ts
reads: it regenerates the checkpoints and checks their sha256 against the record).

Usage: /work/pyenv/bin/python tools/reference/outlier_check.py [--preset tiny-fixres] [--seed 3] [--outliers 3:30]
         [--checkpoints ORDINARY_DIR OUTLIER_DIR] [--out FILE]
Without --checkpoints both are generated into a temporary folder by packages/export/scripts/generate-checkpoint.ts.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
import torch
import transformers
from transformers import SiglipModel, Siglip2Model

sys.path.insert(0, os.path.dirname(__file__))
from export_goldens import NAFLEX_GRIDS, NAFLEX_MAX_PATCHES, NODE, ROOT, SEED, sha256, synthetic_image, token_ids  # noqa: E402


def load(ck):
    cfg = json.load(open(os.path.join(ck, "config.json")))
    cls = Siglip2Model if cfg["model_type"] == "siglip2" else SiglipModel
    return cfg, cls.from_pretrained(ck, attn_implementation="eager", dtype=torch.float32).eval()


def inputs(cfg):
    rng = np.random.default_rng(SEED)
    ids = torch.from_numpy(token_ids(cfg["text_config"]["vocab_size"], rng))
    if cfg["model_type"] == "siglip2":
        P = cfg["vision_config"]["patch_size"]
        pv = np.zeros((len(NAFLEX_GRIDS), NAFLEX_MAX_PATCHES, 3 * P * P), np.float32)
        mask = np.zeros((len(NAFLEX_GRIDS), NAFLEX_MAX_PATCHES), np.int32)
        for b, (h, w) in enumerate(NAFLEX_GRIDS):
            img = synthetic_image(h * P, w * P, rng)
            pv[b, : h * w] = img.reshape(h, P, w, P, 3).transpose(0, 2, 1, 3, 4).reshape(h * w, P * P * 3)
            mask[b, : h * w] = 1
        vis = dict(pixel_values=torch.from_numpy(pv), pixel_attention_mask=torch.from_numpy(mask), spatial_shapes=torch.tensor(NAFLEX_GRIDS))
        valid = torch.from_numpy(mask.astype(bool))  # padding patches are not real activations
    else:
        S = cfg["vision_config"]["image_size"]
        vis = dict(pixel_values=torch.from_numpy(np.stack([synthetic_image(S, S, rng).transpose(2, 0, 1) for _ in range(2)])))
        valid = None
    return ids, vis, valid


def run(model, ids, vis, valid):
    """pooler outputs, logits and per-LayerNorm channel magnitudes (mean |y| over tokens) of one model."""
    mags = {}
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.LayerNorm):
            def hook(_m, _i, y, name=name):
                a = y.detach().abs()
                if name.startswith("vision_model") and valid is not None and a.shape[1] == valid.shape[1]:
                    a = a[valid]
                mags[name] = a.reshape(-1, a.shape[-1]).mean(0).numpy().astype(np.float64)
            hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        img = model.vision_model(**vis).pooler_output.numpy()
        txt = model.text_model(input_ids=ids).pooler_output.numpy()
        logits = model(input_ids=ids, **vis).logits_per_image.numpy()
    for h in hooks:
        h.remove()
    return img, txt, logits, mags


def compare(a, b):
    cos = [float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))) for x, y in zip(a.astype(np.float64), b.astype(np.float64))]
    return min(cos), float(np.abs(a - b).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny-fixres")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--outliers", default="3:30", help="CHANNELS:GAIN")
    ap.add_argument("--checkpoints", nargs=2, metavar=("ORDINARY", "OUTLIERS"))
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "goldens", "export", "outliers", "record.json"))
    args = ap.parse_args()
    channels, gain = args.outliers.split(":")
    with tempfile.TemporaryDirectory() as tmp:
        if args.checkpoints:
            plain, out = args.checkpoints
        else:
            plain, out = os.path.join(tmp, "ordinary"), os.path.join(tmp, "outliers")
            gen = os.path.join(ROOT, "packages/export/scripts/generate-checkpoint.ts")
            subprocess.run([NODE, gen, args.preset, plain, "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([NODE, gen, args.preset, out, "--seed", str(args.seed), "--outliers", args.outliers], check=True, stdout=subprocess.DEVNULL)
        record = check(args, plain, out, int(channels), float(gain))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(json.dumps(record["summary"], indent=1), file=sys.stderr)


def check(args, plain, out, channels, gain):
    planted = {s["layerNorm"]: s["channels"] for s in json.load(open(os.path.join(out, "outliers.json")))["sites"]}
    cfg, m0 = load(plain)
    _, m1 = load(out)
    ids, vis, valid = inputs(cfg)
    img0, txt0, lg0, mag0 = run(m0, ids, vis, valid)
    img1, txt1, lg1, mag1 = run(m1, ids, vis, valid)
    pooled = []
    for tower, a, b in (("image", img0, img1), ("text", txt0, txt1)):
        cos, diff = compare(a, b)
        pooled.append({"tower": tower, "rows": int(a.shape[0]), "cosine": cos, "max_abs_diff": diff, "max_abs": float(np.abs(a).max())})
    norms = []
    for name in sorted(mag0):
        ratio = lambda m: float(m.max() / np.median(m))  # noqa: E731
        top = sorted(np.argsort(-mag1[name])[:channels].tolist())
        entry = {"layer_norm": name, "ratio_ordinary": ratio(mag0[name]), "ratio_outliers": ratio(mag1[name])}
        if name in planted:
            entry.update(planted=planted[name], planted_are_top=top == planted[name],
                         planted_min_over_median=float(mag1[name][planted[name]].min() / np.median(mag1[name])))
        norms.append(entry)
    # LayerNorms without planting must be exactly the ones that feed no linear directly (none in SigLIP).
    unplanted = [n["layer_norm"] for n in norms if "planted" not in n]
    ok_fn = all(p["cosine"] >= 0.99999 for p in pooled)
    ok_top = all(n.get("planted_are_top", False) for n in norms if "planted" in n) and set(planted) <= set(mag0)
    summary = {
        "fp32_function_unchanged": ok_fn,
        "planted_channels_are_the_largest": ok_top,
        "min_cosine": {p["tower"]: p["cosine"] for p in pooled},
        "max_abs_diff": {p["tower"]: p["max_abs_diff"] for p in pooled},
        "logits_max_abs_diff": float(np.abs(lg0 - lg1).max()),
        "layer_norms": len(norms),
        "unplanted_layer_norms": unplanted,
        "max_over_median_ordinary": {"max": max(n["ratio_ordinary"] for n in norms), "median": float(np.median([n["ratio_ordinary"] for n in norms]))},
        "max_over_median_outliers": {"min": min(n["ratio_outliers"] for n in norms), "median": float(np.median([n["ratio_outliers"] for n in norms]))},
    }
    record = {
        "preset": args.preset,
        "seed": args.seed,
        "outliers": {"channels": channels, "gain": gain},
        "weights_sha256": {"ordinary": sha256(os.path.join(plain, "model.safetensors")), "outliers": sha256(os.path.join(out, "model.safetensors"))},
        "summary": summary,
        "pooled": pooled,
        "layer_norms": norms,
        "reference": {"transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__, "attn": "eager", "dtype": "float32"},
        "generator": "node packages/export/scripts/generate-checkpoint.ts %s DIR --seed %d [--outliers %s]" % (args.preset, args.seed, args.outliers),
        "script": "tools/reference/outlier_check.py",
    }
    if not (ok_fn and ok_top):
        print(json.dumps(summary, indent=1), file=sys.stderr)
        raise SystemExit("outlier check FAILED")
    return record


if __name__ == "__main__":
    main()
