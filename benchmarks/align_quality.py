"""Cross-modal alignment quality on an image-only held-out slice of the shared fashion catalog.

    .venv/bin/python benchmarks/align_quality.py                 # kept recipe + ablations
    .venv/bin/python benchmarks/align_quality.py --only kept     # just the shipped recipe

Protocol
* Split the 7,710 fashion products (seed 0): 20% held out, never seen in training.
* The held-out products form an IMAGE-ONLY catalog: only their photos are
  embedded (no titles or attributes indexed).
* Attribute queries: every (gender, colour, type) combination present in the
  held-out slice, worded "<gender> <colour> <type>" in English ("men black
  shoes") and Chinese ("男士 黑色 运动鞋") with the lexicon's preferred words,
  plus a paraphrase set using other lexicon synonyms and word orders.
  Judgments: same type+gender+colour = 2, same type+gender = 1 (type from
  titles via lexicon.product_type; these labels are hidden from the systems).
* Reference: Okapi BM25 (k1=1.2, b=0.75) over the held-out products' lower-cased
  title tokens with the English queries, computed in the same run.
* Exact title -> image: each held-out title as a query; hit if its product's
  photo is in the top 10 among the held-out photos.
Writes a markdown table to stdout and results JSON to benchmarks/out/align_quality.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, load_text_only, make_encoders  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.align.config import AlignConfig  # noqa: E402
from shoplens.align.run import build_align_data  # noqa: E402
from shoplens.align.train import train_heads, untrained_heads  # noqa: E402
from shoplens.config import SearchConfig  # noqa: E402
from shoplens.evaluate.metrics import evaluate  # noqa: E402
from shoplens.preprocess import lexicon  # noqa: E402
from shoplens.search.understand import understand  # noqa: E402

KEPT = AlignConfig()  # the shipped recipe (defaults of AlignConfig)
# The first kept recipe (before ensembles / stronger dropout / two captions per product): the older
# ablation rows are defined against it so they keep measuring what they measured.
PREV = KEPT.with_(input_dropout=0.1, captions_per_product=1, ensemble=1, dim=256)
PLAIN = PREV.with_(
    attribute_captions=False,
    multitask_weight=0.0,
    text_only_prob=0.0,
    hard_negatives=0.0,
    block_hidden=0,
    title_prob=1.0,
    input_dropout=0.0,
)
D25 = PREV.with_(input_dropout=0.25)
PAIR = D25.with_(captions_per_product=2)

VARIANTS: dict[str, AlignConfig] = {
    "untrained (random heads)": None,  # type: ignore[dict-item]
    "plain: titles only (baseline recipe)": PLAIN,
    "+ attribute captions EN": PLAIN.with_(attribute_captions=True, caption_langs=("en",), title_prob=0.5),
    "+ attribute captions EN+ZH": PLAIN.with_(attribute_captions=True, title_prob=0.5),
    "+ captions EN+ZH + input dropout": PLAIN.with_(attribute_captions=True, title_prob=0.5, input_dropout=0.1),
    "kept without multi-task": PREV.with_(multitask_weight=0.0),
    "kept recipe (captions EN+ZH, multi-task, dropout, 60 epochs)": PREV,
    "kept + hard negatives": PREV.with_(hard_negatives=0.3),
    "kept + residual MLP block": PREV.with_(block_hidden=256),
    "kept, title share 0.7": PREV.with_(title_prob=0.7),
    # second round (ensembles, regularisation, caption sampling)
    "kept, multi-task weight 1.0": PREV.with_(multitask_weight=1.0),
    "kept, 512-d shared space": PREV.with_(dim=512),
    "kept, ensemble of 2 seeds": PREV.with_(ensemble=2),
    "kept, ensemble of 3 seeds": PREV.with_(ensemble=3),
    "kept, input dropout 0.25": D25,
    "kept, input dropout 0.4": PREV.with_(input_dropout=0.4),
    "dropout 0.25, ensemble of 3": D25.with_(ensemble=3),
    "dropout 0.25 + title AND attribute caption per product": PAIR,
    "dropout 0.25 + title & attribute caption, ensemble of 3": PAIR.with_(ensemble=3),
    "dropout 0.25 + title & attribute caption, ensemble of 3 × 192-d": PAIR.with_(ensemble=3, dim=192),
    "kept recipe v2 (AlignConfig defaults)": KEPT,
    # Same recipes trained on ALL non-held-out products, without the internal 10% validation slice
    # (as the shipped heads are: validated, then refit on every pair). Held-out products stay unseen.
    "kept recipe v1, all training products (no internal val slice)": PREV.with_(val_fraction=0.0),
    "kept recipe v2, all training products (no internal val slice)": KEPT.with_(val_fraction=0.0),
    # third round: the attribute classifiers refit on the final embedding (classifier_c) vs the
    # jointly trained multi-task ones
    "kept recipe v2, jointly trained classifiers (no refit)": KEPT.with_(classifier_c=0.0),
}
# Title round (issue #12: exact title -> photo): cheap runs (1 head, 30 epochs, every training
# product) comparing recipe levers against the same cheap baseline; select with --variants "titles:".
# No attribute MLP: it reads the raw photo features, not the shared space, so it cannot move a title's
# cosine (and costs minutes per variant).
TQ = KEPT.with_(ensemble=1, epochs=30, val_fraction=0.0, attribute_mlp_hidden=0)
TITLE_VARIANTS: dict[str, AlignConfig] = {
    "titles: 1 head, 30 epochs, e5 query mode": TQ,
    "titles: 1 head, 30 epochs, e5 passage mode": TQ.with_(text_mode="passage"),
    "titles: + hard negatives 0.3": TQ.with_(hard_negatives=0.3),
    "titles: + title loss 0.5": TQ.with_(title_loss_weight=0.5),
    "titles: + title loss 1.0": TQ.with_(title_loss_weight=1.0),
    "titles: + hard negatives 0.3 and title loss 1.0": TQ.with_(title_loss_weight=1.0, hard_negatives=0.3),
    "titles: + title loss 2.0": TQ.with_(title_loss_weight=2.0),
    "titles: + 512-d": TQ.with_(dim=512),
    "titles: + 60 epochs": TQ.with_(epochs=60),
    "titles: + input dropout 0.1": TQ.with_(input_dropout=0.1),
    "titles: + title loss 1.0, 512-d": TQ.with_(title_loss_weight=1.0, dim=512),
    "titles: + title loss 1.0, 60 epochs": TQ.with_(title_loss_weight=1.0, epochs=60),
    "titles: + title loss 0.5, hard negatives 0.3": TQ.with_(title_loss_weight=0.5, hard_negatives=0.3),
}
# Opt-in (slow: extra texts to encode): --variants "text-only" / "query mode"
EXTRA_VARIANTS: dict[str, AlignConfig] = {
    "kept + text-only titles (styles_text_only.csv)": PREV.with_(text_only_prob=0.15),
    "kept + e5 query mode": PREV.with_(text_mode="query"),
}
# The predicted-attribute re-scoring search applies to text->image candidates (heads.attribute_log_probs
# of the attributes query understanding parses), with search's own weight and floors.
BOOST = SearchConfig().predicted_attribute_weight
FLOORS = SearchConfig().predicted_attribute_floors

_TOK = re.compile(r"[a-z0-9]+")


# --------------------------------------------------------------------------- reference
class BM25:
    """Standard Okapi BM25 (k1=1.2, b=0.75, Lucene idf) over lower-cased alphanumeric tokens."""

    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.tfs = [Counter(_TOK.findall(d.lower())) for d in docs]
        self.len = np.array([sum(t.values()) for t in self.tfs], float)
        self.avg = float(self.len.mean()) if len(docs) else 1.0
        df = Counter(w for t in self.tfs for w in t)
        n = len(docs)
        self.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}

    def scores(self, query: str) -> np.ndarray:
        s = np.zeros(len(self.tfs))
        for w in _TOK.findall(query.lower()):
            if w not in self.idf:
                continue
            tf = np.array([t.get(w, 0) for t in self.tfs], float)
            s += self.idf[w] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.len / self.avg))
        return s


# --------------------------------------------------------------------------- queries
def make_queries(attrs: list[dict], seed: int = 0) -> tuple[dict, dict, dict]:
    """EN / ZH / paraphrase queries for every (gender, colour, type) combination, with graded qrels."""
    combos = sorted(
        {(a["gender"], a["colour"], a["type"]) for a in attrs if all(k in a for k in ("gender", "colour", "type"))}
    )
    rng = random.Random(seed)
    en, zh, para, qrels = {}, {}, {}, {}
    for k, (g, c, t) in enumerate(combos):
        qid = f"q{k:04d}"
        en[qid] = f"{lexicon.wording('gender', g)} {lexicon.wording('colour', c)} {lexicon.wording('type', t)}"
        zh[qid] = (
            f"{lexicon.wording('gender', g, 'zh')} {lexicon.wording('colour', c, 'zh')} "
            f"{lexicon.wording('type', t, 'zh')}"
        )
        gt, ct, tt = (lexicon.lookup(f, v) for f, v in (("gender", g), ("colour", c), ("type", t)))
        gw, cw, tw = rng.choice(gt.en), rng.choice(ct.en), rng.choice(tt.en)
        para[qid] = rng.choice(
            (f"{cw} {tw} for {gw}", f"{gw} {tw} {cw}", f"{cw} {gw} {tw}", f"{gw} {cw} {tw}")
        ).replace("for for ", "for ")
        qrels[qid] = {}
    for i, a in enumerate(attrs):
        for k, (g, c, t) in enumerate(combos):
            if a.get("type") == t and a.get("gender") == g:
                qrels[f"q{k:04d}"][str(i)] = 2 if a.get("colour") == c else 1
    return {"en": en, "zh": zh, "en_paraphrase": para}, qrels, {}


def topk_run(sims: np.ndarray, qids: list[str], k: int = 100) -> dict[str, dict[str, float]]:
    run = {}
    for qi, q in enumerate(qids):
        s = sims[qi]
        top = np.argpartition(-s, min(k, len(s) - 1))[:k]
        run[q] = {str(int(j)): float(s[j]) for j in top}
    return run


def ndcg10(sims: np.ndarray, qids: list[str], qrels) -> float:
    return evaluate(topk_run(sims, qids), {q: qrels[q] for q in qids}, ["ndcg@10"]).metrics["ndcg@10"]


# --------------------------------------------------------------------------- evaluation
def rescore_candidates(cos: np.ndarray, logp: np.ndarray, n: int = SearchConfig().candidates) -> np.ndarray:
    """As search does: the top-n products by cosine are re-scored by cos + BOOST * logp; the rest
    are not retrieved by the component at all."""
    out = np.full_like(cos, -np.inf)
    top = np.argsort(-cos, axis=1)[:, :n]
    rows = np.arange(len(cos))[:, None]
    out[rows, top] = cos[rows, top] + BOOST * logp[rows, top]
    return out


def embed_queries(heads, texts: list[str], encs, cache) -> np.ndarray:
    feats = {n: cache.encode_texts(encs[n], texts, heads.text_mode) for n in heads.text_inputs}
    return heads.embed_text(feats)


def evaluate_heads(heads, fs, test_rows, queries, qrels, encs, cache) -> dict:
    gallery = heads.embed_image({n: fs.image[n][test_rows] for n in heads.image_inputs})
    out = {}
    qids = list(queries["en"])
    for name in ("en", "en_paraphrase", "zh"):
        out[f"ndcg10_{name}"] = ndcg10(
            embed_queries(heads, [queries[name][q] for q in qids], encs, cache) @ gallery.T, qids, qrels
        )
    # Chinese through query understanding: the query and its English rendering, embeddings averaged
    zh_en = [understand(queries["zh"][q]).english for q in qids]
    e_zh = embed_queries(heads, [queries["zh"][q] for q in qids], encs, cache)
    e_zh_en = embed_queries(heads, zh_en, encs, cache)
    out["ndcg10_zh_via_english"] = ndcg10(e_zh_en @ gallery.T, qids, qrels)
    mix = e_zh + e_zh_en
    mix /= np.linalg.norm(mix, axis=1, keepdims=True)
    out["ndcg10_zh_mixed"] = ndcg10(mix @ gallery.T, qids, qrels)
    if heads.classifiers:  # + predicted-attribute boost from query understanding
        for name, emb, texts in (
            (
                "en",
                embed_queries(heads, [queries["en"][q] for q in qids], encs, cache),
                [queries["en"][q] for q in qids],
            ),
            (
                "en_paraphrase",
                embed_queries(heads, [queries["en_paraphrase"][q] for q in qids], encs, cache),
                [queries["en_paraphrase"][q] for q in qids],
            ),
            ("zh_mixed", mix, [queries["zh"][q] for q in qids]),
        ):
            wanted, cos = [understand(t).fields for t in texts], emb @ gallery.T
            lp = np.stack([heads.attribute_log_probs(gallery, w, FLOORS) for w in wanted])
            out[f"ndcg10_{name}_boost"] = ndcg10(rescore_candidates(cos, lp), qids, qrels)
            if name == "en":  # ablation: every asked attribute required (no floors)
                hard = np.stack([heads.attribute_log_probs(gallery, w) for w in wanted])
                out["ndcg10_en_boost_no_floors"] = ndcg10(rescore_candidates(cos, hard), qids, qrels)
    # exact title -> image among the held-out photos
    titles = [fs.products[i].title for i in test_rows]
    tq = embed_queries(heads, titles, encs, cache)
    sims = tq @ gallery.T
    key = np.array([t.strip().lower() for t in titles])
    same = key[:, None] == key[None, :]
    best = np.where(same, sims, -np.inf).max(1)
    rank = 1 + ((sims > best[:, None]) & ~same).sum(1)
    out["title_to_image_R@10"] = float(np.mean(rank <= 10))
    out["title_to_image_R@1"] = float(np.mean(rank <= 1))
    out["title_to_image_MRR"] = float(np.mean(1 / rank))
    # image -> title (the other direction, over held-out titles)
    sims_t = gallery @ tq.T
    best_t = np.where(same, sims_t, -np.inf).max(1)
    rank_t = 1 + ((sims_t > best_t[:, None]) & ~same).sum(1)
    out["image_to_title_R@10"] = float(np.mean(rank_t <= 10))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout", type=float, default=0.2)
    ap.add_argument("--only", choices=["kept", "all"], default="all")
    ap.add_argument("--variants", nargs="*", help="substring filter on variant names")
    ap.add_argument("--threads", type=int, help="torch threads per variant (e.g. 1 for two runs side by side)")
    ap.add_argument("--text-only", type=int, default=8000, help="text-only titles for that ablation")
    ap.add_argument("--out", type=Path, default=OUT / "align_quality.json")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other rows already in --out (same seed / held-out split) and print them too",
    )
    ap.add_argument(
        "--heads",
        type=Path,
        nargs="*",
        help="evaluate these saved heads (trained without the held-out slice, e.g. bench_quality2_heads.py's) "
        "instead of training variants",
    )
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    encs = make_encoders()
    cache = feature_cache()
    products = load_fashion()
    fs = featureset(products, encs, cache, progress=True)
    rng = np.random.default_rng(a.seed)
    usable = np.flatnonzero(fs.has_image & np.array([bool(p.title) for p in products]))
    test_rows = np.sort(rng.choice(usable, size=int(round(a.heldout * len(usable))), replace=False))
    train_rows = np.setdiff1d(np.arange(len(products)), test_rows)
    test_attrs = [product_attributes(products[i], FIELD_MAP) for i in test_rows]
    queries, qrels, _ = make_queries(test_attrs, a.seed)
    qids = list(queries["en"])

    # Reference: BM25 over the held-out titles with English queries (same run).
    bm25 = BM25([products[i].title or "" for i in test_rows])
    ref = {
        "en": ndcg10(np.stack([bm25.scores(queries["en"][q]) for q in qids]), qids, qrels),
        "en_paraphrase": ndcg10(np.stack([bm25.scores(queries["en_paraphrase"][q]) for q in qids]), qids, qrels),
    }
    print(
        f"held-out image-only catalog: {len(test_rows)} products, {len(qids)} attribute queries; "
        f"BM25-over-titles NDCG@10: EN {ref['en']:.4f}, EN paraphrases {ref['en_paraphrase']:.4f}",
        flush=True,
    )

    if a.heads:
        from shoplens.align.heads import Heads

        saved = json.loads(a.out.read_text()) if a.out.is_file() else {}
        if saved.get("seed") != a.seed or saved.get("heldout_products") != len(test_rows):
            saved = {
                "reference_bm25": ref,
                "heldout_products": int(len(test_rows)),
                "queries": len(qids),
                "seed": a.seed,
            }
        for path in a.heads:
            heads = Heads.load(path)
            r = evaluate_heads(heads, fs, test_rows, queries, qrels, encs, cache)
            for k in ("en", "zh", "en_boost", "zh_mixed_boost"):
                r[f"ratio_{k}"] = r[f"ndcg10_{k}"] / ref["en"]
            r["ratio_en_paraphrase_boost"] = r["ndcg10_en_paraphrase_boost"] / ref["en_paraphrase"]
            r["recipe"] = heads.meta.get("recipe")
            saved.setdefault("results", {})[f"saved heads {path.name} ({heads.fingerprint})"] = r
            a.out.parent.mkdir(parents=True, exist_ok=True)
            a.out.write_text(json.dumps(saved, indent=2, ensure_ascii=False))
            print(
                f"{path} (e5 {heads.text_mode}): EN cosine {r['ndcg10_en'] / ref['en']:.3f}x, EN search "
                f"{r['ndcg10_en_boost'] / ref['en']:.3f}x, ZH search {r['ndcg10_zh_mixed_boost'] / ref['en']:.3f}x "
                f"BM25; title->photo R@10 {r['title_to_image_R@10']:.3f} (R@1 {r['title_to_image_R@1']:.3f}), "
                f"photo->title R@10 {r['image_to_title_R@10']:.3f}",
                flush=True,
            )
        return 0
    variants = {"kept recipe": KEPT} if a.only == "kept" else dict(VARIANTS)
    if a.variants:
        every = {**VARIANTS, **EXTRA_VARIANTS, **TITLE_VARIANTS}
        # a name given in full picks that variant alone (others may contain it)
        variants = {k: v for k, v in every.items() if any(s == k or (s not in every and s in k) for s in a.variants)}
    if a.threads:
        variants = {k: v if v is None else v.with_(threads=a.threads) for k, v in variants.items()}
    text_only = (
        load_text_only(a.text_only) if any(v is not None and v.text_only_prob > 0 for v in variants.values()) else []
    )
    results = {}
    if a.merge and a.out.is_file():
        old = json.loads(a.out.read_text())
        if old.get("seed") == a.seed and old.get("heldout_products") == len(test_rows):
            results = {k: v for k, v in old.get("results", {}).items() if k not in variants}
    for name, cfg in variants.items():
        t1 = time.perf_counter()
        base = cfg or KEPT
        base = base.with_(refit_full=False)
        data = build_align_data(
            fs,
            cache,
            encs,
            base,
            field_map=FIELD_MAP,
            rows=train_rows,
            text_only=text_only if base.text_only_prob > 0 else (),
            progress=True,
        )
        if cfg is None:
            heads, val = untrained_heads(data, base), {}
        else:
            heads, m = train_heads(data, base, progress=True)
            val = m["validation"]
        r = evaluate_heads(heads, fs, test_rows, queries, qrels, encs, cache)
        r["ratio_en"] = r["ndcg10_en"] / ref["en"]
        r["ratio_en_paraphrase"] = r["ndcg10_en_paraphrase"] / ref["en_paraphrase"]
        for k in ("zh", "zh_via_english", "zh_mixed", "zh_mixed_boost", "en_boost", "en_boost_no_floors"):
            if f"ndcg10_{k}" in r:
                r[f"ratio_{k}"] = r[f"ndcg10_{k}"] / ref["en"]
        if "ndcg10_en_paraphrase_boost" in r:
            r["ratio_en_paraphrase_boost"] = r["ndcg10_en_paraphrase_boost"] / ref["en_paraphrase"]
        r["train_validation"] = val
        r["recipe"] = base.to_json() if cfg is not None else None
        r["seconds"] = round(time.perf_counter() - t1, 1)
        results[name] = r
        print(
            f"{name}: EN {r['ratio_en']:.3f}x  ZH {r['ratio_zh']:.3f}x  ZH+und. {r['ratio_zh_mixed']:.3f}x  "
            f"title->image R@10 {r['title_to_image_R@10']:.3f}  ({r['seconds']}s)",
            flush=True,
        )

    print()
    print(
        "| recipe | EN NDCG@10 (×BM25) | EN paraphrase (×BM25 same queries) | ZH raw (×BM25-EN) "
        "| ZH + understanding (×BM25-EN) | EN + attr boost | ZH + und. + attr boost | title→image R@10 "
        "| image→title R@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        boost = (
            (
                f"{r['ndcg10_en_boost']:.3f} ({r['ratio_en_boost']:.2f}×) | {r['ndcg10_zh_mixed_boost']:.3f} "
                f"({r['ratio_zh_mixed_boost']:.2f}×)"
            )
            if "ndcg10_en_boost" in r
            else "– | –"
        )
        print(
            f"| {name} | {r['ndcg10_en']:.3f} ({r['ratio_en']:.2f}×) | {r['ndcg10_en_paraphrase']:.3f} "
            f"({r['ratio_en_paraphrase']:.2f}×) | {r['ndcg10_zh']:.3f} ({r['ratio_zh']:.2f}×) | "
            f"{r['ndcg10_zh_mixed']:.3f} ({r['ratio_zh_mixed']:.2f}×) | {boost} | {r['title_to_image_R@10']:.3f} | "
            f"{r['image_to_title_R@10']:.3f} |"
        )
    print(
        f"\nBM25 over titles (reference, EN queries): NDCG@10 {ref['en']:.4f}; "
        f"held-out {len(test_rows)} image-only products, {len(qids)} queries; {time.perf_counter() - t0:.0f}s"
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(
        json.dumps(
            {
                "reference_bm25": ref,
                "heldout_products": int(len(test_rows)),
                "queries": len(qids),
                "seed": a.seed,
                "example_queries": {k: [v[q] for q in qids[:5]] for k, v in queries.items()},
                "results": results,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"results: {a.out}")
    return 0


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # align_store's progress and metrics
    raise SystemExit(main())
