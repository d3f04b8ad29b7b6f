"""numpy peer of @siglip-edge/metrics' bench: the same retrieval metrics on the same planted embeddings.

Usage: metrics_bench.py DIR [LANGUAGES]
DIR is written by packages/metrics/bench/plant-files.ts (sparse rows as .npy, planted ranks per language). Per
language, as a numpy user would write it: L2-normalise, S = I @ T.T (float32, BLAS), T->I rank
1 + #{i : S[i,t] > S[owner(t),t]}, I->T rank 1 + #{t : S[i,t] > best own caption} (own captions never exceed
their best, so no mask), recall@1/5/10. Densifying the embeddings is outside the timer. Prints one JSON object:
seconds, peak RSS (VmHWM), whether every rank equals the planted one, and hit counts.
"""

import json
import re
import sys
import time
from pathlib import Path

import numpy as np

KS = (1, 5, 10)


def dense(prefix: Path, dim: int) -> np.ndarray:
    indptr = np.load(f"{prefix}.indptr.npy")
    indices = np.load(f"{prefix}.indices.npy")
    values = np.load(f"{prefix}.values.npy")
    out = np.zeros((len(indptr) - 1, dim), dtype=np.float32)
    out[np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)), indices] = values
    return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    root = Path(sys.argv[1])
    meta = json.loads((root / "meta.json").read_text())
    languages = meta["languages"][: int(sys.argv[2])] if len(sys.argv) > 2 else meta["languages"]
    dim = meta["dim"]
    owner = np.load(root / "owner.npy")
    n_images = meta["images"]
    cols = np.arange(len(owner))
    raw = dense(root / "images", dim)
    seconds = 0.0
    t = time.perf_counter()
    images = unit(raw)
    seconds += time.perf_counter() - t
    exact = True
    hits = []
    for lang in languages:
        texts = dense(root / lang / "texts", dim)
        t = time.perf_counter()
        s = images @ unit(texts).T  # [I, T]
        ref = s[owner, cols]  # S[owner(t), t]
        t2i = 1 + (s > ref[None, :]).sum(axis=0)
        best = np.full(n_images, -np.inf, dtype=np.float32)
        np.maximum.at(best, owner, ref)
        i2t = 1 + (s > best[:, None]).sum(axis=1)
        t2i_hits = [int((t2i <= k).sum()) for k in KS]
        i2t_hits = [int((i2t <= k).sum()) for k in KS]
        recall = [h / len(t2i) for h in t2i_hits] + [h / n_images for h in i2t_hits]
        seconds += time.perf_counter() - t
        del s
        exact = exact and bool((t2i == np.load(root / lang / "expected.t2i.npy")).all()) and bool((i2t == np.load(root / lang / "expected.i2t.npy")).all())
        hits.append({"language": lang, "t2i": t2i_hits, "i2t": i2t_hits, "queries": [len(t2i), n_images], "recall": recall})
    print(json.dumps({
        "numpy": np.__version__,
        "languages": len(languages),
        "seconds": {"retrieval": seconds},
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork + exec (it would be the bench parent's peak)
        "peakRssMiB": int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024,
        "exact": exact,
        "hits": hits,
    }))


if __name__ == "__main__":
    main()
