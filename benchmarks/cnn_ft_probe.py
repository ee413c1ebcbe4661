"""Do MobileNetV2's fine-tuned last blocks read type / gender / colour off a photo better?

    nice .venv/bin/python benchmarks/cnn_ft_maps.py                 # once: the frozen trunk's maps
    nice .venv/bin/python benchmarks/cnn_ft_train.py --tag base     # the fine-tuned features[17:]
    nice .venv/bin/python benchmarks/cnn_ft_probe.py --tags base    # --only mlp linear own

Same held-out 20% of the fashion products, same 457 English attribute queries and same BM25 over
the held-out titles (same run) as benchmarks/cnn_probe.py, cnn_lite2_probe.py and
photoattr_probe.py. Feature sets (each + the colour histogram): today's MobileNetV2 + Lite0 (the
benchmark feature cache, what a store holds) against the fine-tuned 1280-d features (cnn_ft_train.py
TAG/features.npy) in place of MobileNetV2, beside it, and alone. Readers fitted on the other 80%:
* mlp: the attribute MLP (the shipped recipe) ranked as search ranks: the top 200 by the held-out
  heads' cosine (`--heads`, today's inputs) re-scored by
  cos + 0.2 [log P(type) + log P(gender) + log(0.3 + 0.7 P(colour))];
* linear: softmax regressions (probe_common.probe), the log-probabilities alone;
* own: the fine-tuned network's own classifier, ranked both ways.
Writes benchmarks/out/cnn_ft/probe.json (each row as it finishes).
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

FIELDS = ("type", "gender", "colour")
DIR = OUT / "cnn_ft"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tags", nargs="*", default=["base"], help="cnn_ft_train.py runs to probe")
    ap.add_argument("--only", nargs="*", default=["mlp", "linear", "own"], choices=["mlp", "linear", "own"])
    ap.add_argument("--no-today", action="store_true", help="skip today's features (already in probe.json)")
    ap.add_argument(
        "--features",
        nargs="*",
        default=[],
        metavar="NAME=PATH",
        help="other (n_products, d) feature files (e.g. cnn_ft_regions.py's), probed beside MobileNetV2 + Lite0",
    )
    ap.add_argument("--sets", nargs="*", help="only the feature sets whose name contains one of these strings")
    ap.add_argument("--mobilenet-alone", action="store_true", help="also today's MobileNetV2 alone (+ colour)")
    ap.add_argument("--heads", type=Path, default=OUT / "quality2" / "heads_heldout_query")
    ap.add_argument("--out", type=Path, default=DIR / "probe.json")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    products = load_fashion()
    encs = make_encoders()
    cache = feature_cache()
    fs = featureset(products, {k: v for k, v in encs.items() if v.modality == "image"}, cache, progress=False)
    test = heldout_rows(products)
    train = np.setdiff1d(np.flatnonzero(fs.has_image), test)
    attrs = [product_attributes(p, FIELD_MAP) for p in products]
    q = probe_queries(products, attrs, test)
    ref = q.reference
    feats = dict(fs.image)
    sets: dict[str, tuple[str, ...]] = (
        {} if a.no_today else {"today: MobileNetV2 + Lite0": ("mobilenet_v2", "efficientnet_lite0")}
    )
    if a.mobilenet_alone:
        sets["today: MobileNetV2 alone"] = ("mobilenet_v2",)
    for spec in a.features:
        name, path = spec.split("=", 1)
        feats[name] = np.load(path).astype(np.float32)
        sets[f"{name} + MobileNetV2 + Lite0"] = (name, "mobilenet_v2", "efficientnet_lite0")
    for tag in a.tags:
        feats[f"ft:{tag}"] = np.load(DIR / tag / "features.npy").astype(np.float32)
        sets[f"ft:{tag} in place of MobileNetV2 (+ Lite0)"] = (f"ft:{tag}", "efficientnet_lite0")
        sets[f"ft:{tag} + MobileNetV2 + Lite0"] = (f"ft:{tag}", "mobilenet_v2", "efficientnet_lite0")
        sets[f"ft:{tag} alone"] = (f"ft:{tag}",)
    sets = {k: v for k, v in sets.items() if not a.sets or any(x in k for x in a.sets)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    res: dict = json.loads(a.out.read_text()) if a.out.exists() else {}
    res.update({"reference_bm25_en": ref, "queries": len(q.qids), "heldout": int(len(test))})
    for k in ("linear", "mlp", "own"):
        res.setdefault(k, {})
    print(f"BM25 {ref:.4f}; {len(q.qids)} queries, {len(test)} photos [{time.perf_counter() - t0:.0f}s]", flush=True)

    report = probe_reporter(res, ref, t0, a.out)

    heads = Heads.load(a.heads)
    gallery = heads.embed_image({n: fs.image[n][test] for n in heads.image_inputs})
    texts = make_queries([attrs[i] for i in test], 0)[0]["en"]  # the texts probe_queries parsed
    cos = embed_queries(heads, [texts[qid] for qid in q.qids], encs, cache) @ gallery.T
    res["mlp_heads"] = str(a.heads)

    def scores(classes: dict[str, list[str]], lp: dict[str, np.ndarray]) -> np.ndarray:
        S = np.zeros_like(cos)
        for qi, want in enumerate(q.parsed):
            for f, v in want.items():
                if f in lp and v in classes[f]:
                    p = lp[f][:, classes[f].index(v)]
                    S[qi] += np.log(0.3 + 0.7 * np.exp(p)) if f == "colour" else p
        return S

    if "own" in a.only:
        for tag in a.tags:
            z = np.load(DIR / tag / "log_probs.npz")
            classes = {f: [str(c) for c in z[f"{f}.classes"]] for f in FIELDS}
            lp = {f: z[f][test] for f in FIELDS}
            acc = {f: accuracy(classes[f], lp[f], attrs, test, f) for f in FIELDS}
            S = scores(classes, lp)
            report(
                "own",
                f"ft:{tag} own classifier, re-scoring the heads' top 200",
                0,
                acc,
                ndcg10(rescore_candidates(cos, S), q.qids, q.qrels),
            )
            report("own", f"ft:{tag} own classifier alone", 0, acc, ndcg10(S, q.qids, q.qrels))

    if "mlp" in a.only:
        labels = {}
        for f in FIELDS:
            classes = heads.classifiers[f][0]
            labels[f] = (
                classes,
                np.array([classes.index(attrs[i][f]) if attrs[i].get(f) in classes else -1 for i in train]),
            )
        for name, cnns in sets.items():
            parts = {n: feats[n] for n in (*cnns, "colour")}
            mlp = fit_attribute_mlp({n: v[train] for n, v in parts.items()}, labels)
            lp = mlp.all_log_probs(mlp.features({n: v[test] for n, v in parts.items()}), FIELDS)
            r = ndcg10(rescore_candidates(cos, scores(mlp.classes, lp)), q.qids, q.qrels)
            acc = {f: accuracy(mlp.classes[f], lp[f], attrs, test, f) for f in FIELDS}
            report("mlp", name, int(sum(v.shape[1] for v in parts.values())), acc, r)

    if "linear" in a.only:
        for name, cnns in sets.items():
            Z = np.concatenate([block(feats[n], train) for n in (*cnns, "colour")], 1)
            acc, r = probe(Z, train, test, attrs, q, max_iter=300)
            report("linear", name, int(Z.shape[1]), acc, r)
    print(f"done in {time.perf_counter() - t0:.0f}s; {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
