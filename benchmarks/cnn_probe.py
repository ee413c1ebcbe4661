"""Which richer CNN features help the photo-only attribute ranking? A linear probe, no heads.

    nice .venv/bin/python benchmarks/cnn_feature_cache.py   # once: uncropped + mirrored CNN features
    nice .venv/bin/python benchmarks/cnn_probe.py

Protocol of benchmarks/align_feature_probe.py (same held-out 20%, same attribute queries, EN):
softmax regressions (sklearn, C=2) predict type / gender / colour from the photo features of the
other 80%; held-out photos are ranked by log P(type) + log P(gender) + log(0.3 + 0.7 P(colour))
and compared with BM25 over their titles (NDCG@10 ratio, same run). Every set includes the colour
histogram. The shipped (centre-cropped) features come from the benchmark feature cache
(benchmarks/out/align_cache, encoded there when missing).
Writes benchmarks/out/cnn/probe.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from bench_quality2_heads import heldout_rows  # noqa: E402
from probe_common import block, probe, probe_queries  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="feature sets whose name contains one of these strings")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    products = load_fashion()
    encs = {k: v for k, v in make_encoders().items() if v.modality == "image"}
    fs = featureset(products, encs, feature_cache(), progress=False)
    rich = dict(np.load(OUT / "cnn" / "rich_features.npz"))
    assert list(rich.pop("ids")) == [p.id for p in products]
    test = heldout_rows(products)
    train = np.setdiff1d(np.flatnonzero(fs.has_image), test)
    attrs = [product_attributes(p, FIELD_MAP) for p in products]
    q = probe_queries(products, attrs, test)
    ref = q.reference

    def mirror(k: str) -> np.ndarray:
        return (rich[k].astype(np.float32) + rich[k + "_flip"].astype(np.float32)) / 2

    sets = {
        "shipped (256->224 centre crop, avg)": [fs.image["mobilenet_v2"], fs.image["efficientnet_lite0"]],
        "uncropped, avg": [rich["mb_avg"], rich["ef_avg"]],
        "uncropped + mirror, avg": [mirror("mb_avg"), mirror("ef_avg")],
        "uncropped, avg + MobileNetV2 stages 13/16 (no extra CNN work)": [
            rich["mb_avg"],
            rich["ef_avg"],
            rich["mb_mid13"],
            rich["mb_mid16"],
        ],
        "uncropped + mirror, avg + MobileNetV2 stages 13/16": [
            mirror("mb_avg"),
            mirror("ef_avg"),
            mirror("mb_mid13"),
            mirror("mb_mid16"),
        ],
        "uncropped + mirror, avg + max + stages": [
            mirror("mb_avg"),
            mirror("ef_avg"),
            mirror("mb_max"),
            mirror("ef_max"),
            mirror("mb_mid13"),
            mirror("mb_mid16"),
        ],
    }
    if a.only:
        sets = {k: v for k, v in sets.items() if any(o in k for o in a.only)}
    results = {}
    for name, mats in sets.items():
        Z = np.concatenate([block(m, train) for m in mats] + [block(fs.image["colour"], train)], 1)
        acc, r = probe(Z, train, test, attrs, q, max_iter=300)
        results[name] = {"dims": int(Z.shape[1]), "accuracy": acc, "ndcg10_en": r, "ratio_en": r / ref}
        print(
            f"{name}: {Z.shape[1]}-d, accuracy "
            + ", ".join(f"{k} {v:.3f}" for k, v in acc.items())
            + f"; EN NDCG@10 {r:.4f} ({r / ref:.3f}x BM25) [{time.perf_counter() - t0:.0f}s]",
            flush=True,
        )
    (OUT / "cnn" / ("probe.json" if not a.only else "probe_only.json")).write_text(
        json.dumps({"reference_bm25_en": ref, "results": results}, indent=2)
    )
    print(f"BM25 reference {ref:.4f}; {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
