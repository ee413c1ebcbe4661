"""Which lever moves photo-only attribute search? A probe with the held-out heads, no store.

    nice .venv/bin/python benchmarks/photoattr_probe.py

Same held-out 20% and EN attribute queries as benchmarks/align_quality.py; the held-out heads of
bench_quality2_heads.py. Ranks as search does (top 200 by cosine, re-scored by
cos + 0.2 [log P(type) + log P(gender) + log(0.3 + 0.7 P(colour))]) with the attribute probabilities
taken from different places (the heads' classifiers, oracles, classifiers on other photo features),
against BM25 over the same products' titles (NDCG@10 ratio, same run).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from align_quality import BM25, embed_queries, make_queries, ndcg10, rescore_candidates  # noqa: E402
from bench_quality2_heads import HEADS, heldout_rows  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.align.heads import Heads  # noqa: E402
from shoplens.search.understand import understand  # noqa: E402


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def main(argv=None) -> int:
    import argparse

    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=["oracle", "colour", "knn", "joint", "weight"], help="sections to run")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    products = load_fashion()
    encs = make_encoders()
    cache = feature_cache()
    fs = featureset(products, {k: v for k, v in encs.items() if v.modality == "image"}, cache, progress=False)
    heads = Heads.load(HEADS)
    test = heldout_rows(products)
    train = np.setdiff1d(np.flatnonzero(fs.has_image), test)
    attrs = [product_attributes(p, FIELD_MAP) for p in products]
    queries, qrels, _ = make_queries([attrs[i] for i in test], 0)
    qids = list(queries["en"])
    texts = [queries["en"][q] for q in qids]
    wanted = [understand(t).fields for t in texts]
    bm25 = BM25([products[i].title or "" for i in test])
    ref = ndcg10(np.stack([bm25.scores(t) for t in texts]), qids, qrels)
    emb_all = heads.embed_image({n: fs.image[n] for n in heads.image_inputs})
    gallery = emb_all[test]
    cos = embed_queries(heads, texts, encs, cache) @ gallery.T
    print(f"BM25 {ref:.4f}; {len(qids)} queries, {len(test)} photos [{time.perf_counter() - t0:.0f}s]", flush=True)

    fields = ("type", "gender", "colour")
    heads_lp = {f: (heads.classifiers[f][0], heads._log_probs(gallery, f)) for f in fields}

    def oracle(f):
        classes = heads.classifiers[f][0]
        lp = np.full((len(test), len(classes)), np.log(1e-4))
        for j, i in enumerate(test):
            v = attrs[i].get(f)
            if v in classes:
                lp[j, classes.index(v)] = 0.0
        return classes, lp

    def fit(f, X, C=2.0):
        classes = heads.classifiers[f][0]
        tr = [i for i in train if attrs[i].get(f) in classes]
        clf = LogisticRegression(C=C, max_iter=500).fit(X[tr], [attrs[i][f] for i in tr])
        lp = np.full((len(test), len(classes)), -20.0)
        lp[:, [classes.index(c) for c in clf.classes_]] = clf.predict_log_proba(X[test])
        return classes, lp

    def accuracy(f, cl_lp):
        classes, lp = cl_lp
        te = [j for j, i in enumerate(test) if attrs[i].get(f) in classes]
        return float(np.mean([classes[lp[j].argmax()] == attrs[test[j]][f] for j in te]))

    def run(name, lps, weight=0.2, joint=None):
        S = np.zeros_like(cos)
        for qi, w in enumerate(wanted):
            tg = f"{w.get('type')}|{w.get('gender')}"
            for f, v in w.items():
                if joint is not None and f in ("type", "gender") and tg in joint[0]:
                    if f == "type":
                        S[qi] += joint[1][:, joint[0].index(tg)]
                    continue
                if f not in lps or v not in lps[f][0]:
                    continue
                lp = lps[f][1][:, lps[f][0].index(v)]
                S[qi] += np.log(0.3 + 0.7 * np.exp(lp)) if f == "colour" else lp
        r = ndcg10(cos + weight / 0.2 * (rescore_candidates(cos, S) - cos), qids, qrels)
        acc = " ".join(f"{f} {accuracy(f, lps[f]):.3f}" for f in fields)
        print(f"{name:60s} {acc}  NDCG {r:.4f}  {r / ref:.3f}x [{time.perf_counter() - t0:.0f}s]", flush=True)
        return r

    def mix(a, b, wa=0.5):
        return a[0], log_softmax(wa * a[1] + (1 - wa) * b[1])

    run("heads' classifiers (shipped search)", heads_lp)
    if "weight" in a.only:
        for wt in (0.1, 0.3, 0.5, 1.0):
            run(f"heads' classifiers, re-scoring weight {wt}", heads_lp, weight=wt)
    if "joint" in a.only:
        tr = [i for i in train if "type" in attrs[i] and "gender" in attrs[i]]
        yj = [f"{attrs[i]['type']}|{attrs[i]['gender']}" for i in tr]
        clf = LogisticRegression(C=3.0, max_iter=500).fit(emb_all[tr], yj)
        joint = (list(clf.classes_), clf.predict_log_proba(gallery))
        run("joint type x gender LR on the embedding", heads_lp, joint=joint)
        tg_acc = np.mean(
            [
                joint[0][k] == f"{attrs[i].get('type')}|{attrs[i].get('gender')}"
                for k, i in zip(joint[1].argmax(1), test)
            ]
        )
        print(f"  joint type|gender accuracy {tg_acc:.3f} ({len(joint[0])} classes)", flush=True)
    if "mlp" in a.only:
        mlp_section(
            a, run, fields, heads, heads_lp, fs, emb_all, attrs, train, test, mix, joint if "joint" in a.only else None
        )
    if "oracle" not in a.only:
        return 0
    for f in fields:
        run(f"oracle {f}", {**heads_lp, f: oracle(f)})

    def mix(a, b, wa=0.5):
        return a[0], log_softmax(wa * a[1] + (1 - wa) * b[1])

    if "colour" not in a.only:
        return 0
    old = fs.image["colour"]
    c_old = fit("colour", old)
    run("colour: LR on the 80-bin histogram", {**heads_lp, "colour": c_old})
    run("colour: heads x LR(80-bin), geometric mean", {**heads_lp, "colour": mix(heads_lp["colour"], c_old)})
    from colour_fg import foreground_colour

    from shoplens.preprocess.image import load_image

    t1 = time.perf_counter()
    cache_file = OUT / "photoattr" / "fg.npy"
    if cache_file.exists():
        new = np.load(cache_file)
    else:
        new = np.stack([foreground_colour(load_image(p.images[0])) for p in products])
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_file, new)
    print(f"foreground colour: {new.shape} in {time.perf_counter() - t1:.0f}s", flush=True)
    c_new = fit("colour", new)
    run("colour: LR on the foreground Lab descriptor", {**heads_lp, "colour": c_new})
    run("colour: heads x LR(fg Lab)", {**heads_lp, "colour": mix(heads_lp["colour"], c_new)})
    run("oracle type + gender + colour", {f: oracle(f) for f in fields})
    for T in (0.7, 1.5):
        run(f"heads' classifiers, temperature {T}", {f: (c, log_softmax(lp / T)) for f, (c, lp) in heads_lp.items()})

    # k nearest training photos (cosine on the CNN features + foreground colour), distance-weighted votes
    def unit(m):
        m = m.astype(np.float32)
        return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9)

    Z = np.concatenate([unit(fs.image["mobilenet_v2"]), unit(fs.image["efficientnet_lite0"]), unit(new)], 1)
    sims = Z[test] @ Z[train].T
    nn = np.argsort(-sims, 1)[:, :30]

    def knn(f, k=30, tau=0.05):
        classes = heads.classifiers[f][0]
        p = np.full((len(test), len(classes)), 1e-3)
        lab = np.array([classes.index(attrs[i][f]) if attrs[i].get(f) in classes else -1 for i in train])
        for j in range(len(test)):
            idx = nn[j, :k]
            w = np.exp((sims[j, idx] - sims[j, idx[0]]) / tau)
            ok = lab[idx] >= 0
            np.add.at(p[j], lab[idx][ok], w[ok])
        return classes, np.log(p / p.sum(1, keepdims=True))

    knn_lp = {f: knn(f) for f in fields}
    run("kNN (k=30) on CNN + fg colour", knn_lp)
    run("heads x kNN, geometric mean", {f: mix(heads_lp[f], knn_lp[f]) for f in fields})
    run("heads x kNN (0.7 / 0.3)", {f: mix(heads_lp[f], knn_lp[f], 0.7) for f in fields})
    both = np.concatenate([new, emb_all], 1)
    c_both = fit("colour", both)
    run("colour: LR on fg Lab + embedding", {**heads_lp, "colour": c_both})
    for f in ("type", "gender"):
        run(f"{f}: LR on fg Lab + embedding", {**heads_lp, "colour": c_both, f: fit(f, both)})
    return 0


def mlp_section(a, run, fields, heads, heads_lp, fs, emb_all, attrs, train, test, mix, joint) -> None:
    """Multi-task MLP classifiers (shoplens.align.attribute_mlp, the shipped recipe): on the aligned
    embedding and on the raw photo features."""
    from shoplens.align.attribute_mlp import fit_attribute_mlp

    labels = {}
    for f in fields:
        classes = heads.classifiers[f][0]
        labels[f] = (
            classes,
            np.array([classes.index(attrs[i][f]) if attrs[i].get(f) in classes else -1 for i in train]),
        )

    def fit(parts):
        mlp = fit_attribute_mlp({k: v[train] for k, v in parts.items()}, labels)
        x = mlp.features({k: v[test] for k, v in parts.items()})
        return {f: (mlp.classes[f], mlp.log_probs(x, f)) for f in fields}

    on_emb = fit({"aligned": emb_all})
    run("MLP (512) on the aligned embedding, 3 seeds", on_emb)
    on_raw = fit({n: fs.image[n] for n in heads.image_inputs})
    run("MLP (512) on the raw photo features, 3 seeds (shipped)", on_raw)
    run("heads x MLP(raw)", {f: mix(heads_lp[f], on_raw[f]) for f in fields})
    if joint is not None:
        run("MLP(raw) + joint type x gender", on_raw, joint=joint)


if __name__ == "__main__":
    raise SystemExit(main())
