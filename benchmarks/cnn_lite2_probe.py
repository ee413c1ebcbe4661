"""Does EfficientNet-Lite2 read type / gender / colour from a photo better than today's CNNs?

    nice -n 10 .venv/bin/python benchmarks/cnn_lite2_features.py   # once: Lite2 features of every photo
    nice .venv/bin/python benchmarks/cnn_lite2_probe.py             # --only mlp / linear, --sets NAME...

Same held-out 20% of the fashion products, same 457 English attribute queries and same BM25 over
the held-out titles (same run) as benchmarks/cnn_probe.py and benchmarks/photoattr_probe.py. Each
feature set (every one + the colour histogram, all from the benchmark feature cache, i.e. what a
store would hold) is read by two readers fitted on the other 80%:
* linear: softmax regressions (probe_common.probe; held-out photos ranked by
  log P(type) + log P(gender) + log(0.3 + 0.7 P(colour)) alone);
* mlp: the attribute MLP (`shoplens.align.attribute_mlp.fit_attribute_mlp`, the shipped recipe),
  ranked as search ranks: the top 200 by the held-out heads' cosine (`--heads`, today's inputs:
  the shared space is the same for every set, only the reader changes) re-scored by
  cos + 0.2 [log P(type) + log P(gender) + log(0.3 + 0.7 P(colour))].
NDCG@10 against BM25 over the same products' titles; accuracies are on the held-out photos.
Writes benchmarks/out/cnn/lite2_probe.json (each set as it finishes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from align_quality import embed_queries, make_queries, ndcg10, rescore_candidates  # noqa: E402
from bench_quality2_heads import heldout_rows  # noqa: E402
from probe_common import accuracy, block, probe, probe_queries, probe_reporter  # noqa: E402

from shoplens.align.attribute_mlp import fit_attribute_mlp  # noqa: E402
from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.align.heads import Heads  # noqa: E402

SETS = {
    "today: MobileNetV2 + Lite0": ("mobilenet_v2", "efficientnet_lite0"),
    "MobileNetV2 + Lite2": ("mobilenet_v2", "efficientnet_lite2"),
    "MobileNetV2 + Lite0 + Lite2": ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2"),
}
FIELDS = ("type", "gender", "colour")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=["mlp", "linear"], choices=["mlp", "linear"])
    ap.add_argument("--sets", nargs="*", help="feature sets whose name contains one of these strings")
    ap.add_argument("--heads", type=Path, default=OUT / "quality2" / "heads_heldout_query")
    ap.add_argument("--out", type=Path, default=OUT / "cnn" / "lite2_probe.json")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    products = load_fashion()
    encs = make_encoders(image=("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2", "colour"))
    cache = feature_cache()
    fs = featureset(products, {k: v for k, v in encs.items() if v.modality == "image"}, cache, progress=False)
    test = heldout_rows(products)
    train = np.setdiff1d(np.flatnonzero(fs.has_image), test)
    attrs = [product_attributes(p, FIELD_MAP) for p in products]
    q = probe_queries(products, attrs, test)
    ref = q.reference
    sets = {k: v for k, v in SETS.items() if not a.sets or any(s in k for s in a.sets)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    res: dict = json.loads(a.out.read_text()) if a.out.exists() else {}
    res.update({"reference_bm25_en": ref, "queries": len(q.qids), "heldout": int(len(test))})
    res.setdefault("linear", {})
    res.setdefault("mlp", {})
    print(f"BM25 {ref:.4f}; {len(q.qids)} queries, {len(test)} photos [{time.perf_counter() - t0:.0f}s]", flush=True)

    report = probe_reporter(res, ref, t0, a.out)

    if "mlp" in a.only:
        heads = Heads.load(a.heads)
        gallery = heads.embed_image({n: fs.image[n][test] for n in heads.image_inputs})
        queries = make_queries([attrs[i] for i in test], 0)[0]["en"]  # the texts probe_queries parsed
        cos = embed_queries(heads, [queries[qid] for qid in q.qids], encs, cache) @ gallery.T
        res["mlp_heads"] = str(a.heads)
        labels = {}
        for f in FIELDS:
            classes = heads.classifiers[f][0]
            labels[f] = (
                classes,
                np.array([classes.index(attrs[i][f]) if attrs[i].get(f) in classes else -1 for i in train]),
            )
        for name, cnns in sets.items():
            parts = {n: fs.image[n] for n in (*cnns, "colour")}
            mlp = fit_attribute_mlp({n: v[train] for n, v in parts.items()}, labels)
            lp = mlp.all_log_probs(mlp.features({n: v[test] for n, v in parts.items()}), FIELDS)
            S = np.zeros_like(cos)
            for qi, want in enumerate(q.parsed):
                for f, v in want.items():
                    if f in lp and v in mlp.classes[f]:
                        p = lp[f][:, mlp.classes[f].index(v)]
                        S[qi] += np.log(0.3 + 0.7 * np.exp(p)) if f == "colour" else p
            r = ndcg10(rescore_candidates(cos, S), q.qids, q.qrels)
            acc = {f: accuracy(mlp.classes[f], lp[f], attrs, test, f) for f in FIELDS}
            report("mlp", name, int(sum(v.shape[1] for v in parts.values())), acc, r)

    if "linear" in a.only:
        for name, cnns in sets.items():
            Z = np.concatenate([block(fs.image[n], train) for n in (*cnns, "colour")], 1)
            acc, r = probe(Z, train, test, attrs, q, max_iter=300)
            report("linear", name, int(Z.shape[1]), acc, r)
    print(f"done in {time.perf_counter() - t0:.0f}s; {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
