"""Nothing-to-find on stores WITH titles (issue #12 item 6): fit the `text_dense:e5` confidence
midpoints on queries apart from the measured ones.

    H=benchmarks/out/quality2/heads_heldout_query
    nice .venv/bin/python benchmarks/bench_nothing_titled.py --heads-dir $H        # prints the values to set
    nice .venv/bin/python benchmarks/bench_quality2.py --heads-dir $H --only titled demo --variants before new

On a store with titles e5 vouches for pages that nothing else does: a misspelt or other word for a
product type ("walet", "耳坠"), but also "garden hose" or "绿茶", which e5 puts 0.80-0.86 from some
fashion title. The two stores bench_quality2.py measures (the 1,542 held-out fashion products with
titles, English; the bundled demo, English and Chinese titles) are searched with the e5 midpoints off
(thresholds off too); every judged hit (the first 2k + 10) keeps (its confidence from everything
else, its e5 cosine, whether query and title are both Chinese). Then, for every pair of midpoints
(other pairs, Chinese pairs), a page stays when one hit's noisy-OR reaches `min_confidence`.

In-catalog side: e5_only_queries.CALIBRATION (kept per store when the lexicon does not read them and
BM25 has no part in their page), plus calibration titles and attribute queries apart from the
measured ones, which must all keep their page. Out-of-catalog side: nothing_queries.CALIBRATION. The
midpoints maximise (out-of-catalog pages emptied) + (e5-only pages kept), both stores pooled, among
the pairs that empty no title or attribute page; the middle of the best range when several tie.
Writes benchmarks/out/quality2/nothing_titled_fit.json.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_quality2 as q2  # noqa: E402
from align_data import FIELD_MAP, load_fashion  # noqa: E402
from align_quality import make_queries  # noqa: E402
from e5_only_queries import CALIBRATION as E5_ONLY  # noqa: E402
from nothing_queries import CALIBRATION as NOTHING  # noqa: E402
from nothing_queries import flat  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.config import BuildConfig, EncoderConfig, EngineConfig  # noqa: E402
from shoplens.engine import Engine  # noqa: E402
from shoplens.preprocess import lexicon  # noqa: E402
from shoplens.preprocess.text import has_cjk, tokenize  # noqa: E402
from shoplens.search.tuning import QualityConfig  # noqa: E402
from shoplens.search.understand import understand  # noqa: E402

E5, T2I = "text_dense:e5", "text_to_image"
SCALE = QualityConfig().cosine_midpoints[E5][1]
Evidence = list[tuple[float, float, bool, float]]


def evidence(engine, text: str, k: int = 10) -> tuple[Evidence, bool, list]:
    """(per judged hit: confidence from everything but e5, e5 cosine, both Chinese), whether BM25 has a
    part in the page, the hits; e5 midpoints and thresholds off."""
    if not tokenize(text):
        return [], False, []
    hits = engine.search(text, k=2 * k + 10).hits
    ev = [
        (
            h.confidence or 0.0,
            float(h.components[E5].score) if E5 in h.components else -9.0,
            has_cjk(text) and has_cjk(h.title),
            float(h.components[T2I].score) if T2I in h.components else -9.0,
        )
        for h in hits
    ]
    return ev, any("bm25" in h.components for h in hits[:k]), hits


def arrays(pages: list[Evidence], width: int = 30) -> dict[str, np.ndarray]:
    """The pages as padded arrays (a missing hit: no evidence), for the grid."""
    n = len(pages)
    a = {"other": np.zeros((n, width)), "cos": np.full((n, width), -9.0), "zh": np.zeros((n, width), bool)}
    a["photo"] = np.full(n, -9.0)
    for i, ev in enumerate(pages):
        for j, (other, cos, zh, _) in enumerate(ev[:width]):
            a["other"][i, j], a["cos"][i, j], a["zh"][i, j] = other, cos, zh
        a["photo"][i] = max((t2i for *_, t2i in ev), default=-9.0)
    return a


def sig(x: np.ndarray, mid: float, scale: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip((x - mid) / scale, -60, 60)))


def kept(a: dict[str, np.ndarray], mid: float, mid_zh: float, mid_photo: float, agree: float, mc: float) -> np.ndarray:
    """Which pages stay (search/confidence.py: noisy-OR of the other evidence and e5's; when a photo
    was searched for the words, e5 reads the with-photos midpoint, times the photos' agreement)."""
    scale, agree_scale = SCALE, QualityConfig().dense_photo_agreement_scale
    e5 = np.where(a["zh"], sig(a["cos"], mid_zh, scale), sig(a["cos"], mid, scale))
    if agree > 0:
        photos = (a["photo"] > -9.0)[:, None]
        agreed = sig(a["cos"], mid_photo, scale) * sig(a["photo"], agree, agree_scale)[:, None]
        e5 = np.where(photos, agreed, e5)
    conf = 1.0 - (1.0 - a["other"]) * (1.0 - e5)
    return (conf >= mc).any(axis=1)


def collect(engine, name: str, must_keep: list[str]) -> dict:
    base = QualityConfig()
    mids = {c: v for c, v in base.cosine_midpoints.items() if c != E5}
    off = base.with_(
        min_confidence=0.0,
        min_hit_confidence=0.0,
        cosine_midpoints=mids,
        cosine_midpoints_chinese={},
        cosine_midpoints_with_photos={},
        dense_photo_agreement=0.0,
    )
    q2.set_quality(engine, off)
    titles = {p.id: p.title or "" for p in engine.reader.products.all_products()}
    e5_only, skipped = [], []
    for q, types in E5_ONLY.items():
        ev, bm25, hits = evidence(engine, q)
        if understand(q).fields or bm25:
            skipped.append(q)
            continue
        found = any(lexicon.product_type(titles.get(h.id, "")) in types for h in hits[:10])
        e5_only.append((q, ev, found))
    out = {
        "e5_only": e5_only,
        "skipped": skipped,
        "must_keep": [(q, evidence(engine, q)[0]) for q in must_keep],
        "nothing": [(q, evidence(engine, q)[0]) for q in flat(NOTHING)],
    }
    print(
        f"{name}: {len(e5_only)} e5-only calibration queries ({sum(f for _, _, f in e5_only)} find their type "
        f"in the top 10; not e5-only here: {skipped}), {len(out['must_keep'])} titles + attribute queries, "
        f"{len(out['nothing'])} out-of-catalog",
        flush=True,
    )
    return out


def text_only_engine(catalog: Path, name: str) -> Engine:
    """The rows with a title, without their photos: a shop that indexes text only (no aligned photos,
    so e5 alone vouches; the midpoints a store without photos reads are fitted on these)."""
    import csv

    store = q2.Q2 / name
    cfg = EngineConfig(encoders=EncoderConfig(cache_dir=str(q2.ONNX)))
    if not (store.is_dir() and q2.current_generation(store) is not None):
        with open(catalog, encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r.get("title")]
        cat = q2.Q2 / f"{name}.csv"
        with open(cat, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=[c for c in rows[0] if c != "image"], extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        q2.seed_cache(store)
        Engine.build(cat, store, cfg, BuildConfig(auto_align=False, progress=False)).close()
    return Engine.open(store, cfg)


def measure() -> int:
    from shoplens.cli.demo import DEMO_DIR

    if not (q2.Q2 / "titled.csv").is_file():
        raise SystemExit(
            "benchmarks/out/quality2/titled.csv is missing: run the fit (or bench_quality2.py --only titled)"
        )
    res = {}
    for name, cat, store in (
        ("titled, text only", q2.Q2 / "titled.csv", "titled_text_store"),
        ("demo, text only", DEMO_DIR / "catalog.csv", "demo_text_store"),
    ):
        engine = text_only_engine(cat, store)
        for v, cfg in (("before", q2.BEFORE), ("new", QualityConfig())):
            q2.set_quality(engine, cfg)
            r = {"nothing": q2.nothing_shares(engine), "e5_only": q2.e5_only_pages(engine)}
            res[f"{name}, {v}"] = r
            n, e = r["nothing"], r["e5_only"]
            print(
                f"{name}, {v}: nothing-to-find empty {n['all']:.3f} of {n['n']} (EN words {n['en_words']:.3f}, ZH "
                f"{n['zh']:.3f}); returned {n['returned']}; e5-only queries ({e['n']}): kept {e['kept']:.3f}, found "
                f"{e['found']:.3f}, lost {e['lost']}",
                flush=True,
            )
        engine.close()
    out = q2.Q2 / "nothing_titled_measured.json"
    out.write_text(json.dumps(res, indent=2, ensure_ascii=False))
    print(f"results: {out}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heads-dir", type=Path, help="the held-out heads the titled store adopts (as bench_quality2.py)")
    ap.add_argument("--calibration-titles", type=int, default=200, help="as bench_quality2.py (the same titles)")
    ap.add_argument("--titles", type=int, default=100, help="of the calibration titles, this many must keep a page")
    ap.add_argument("--queries", type=int, default=100, help="as bench_quality2.py: measured attribute queries")
    ap.add_argument("--attribute-queries", type=int, default=50, help="calibration attribute queries, EN + ZH each")
    ap.add_argument("--reuse", action="store_true", help="fit on the evidence the last run saved (no search)")
    ap.add_argument(
        "--measure",
        action="store_true",
        help="no fit: the measured sets (nothing_queries / e5_only_queries MEASURED) on the two text-only stores, "
        "before (bench_quality2.BEFORE) and after (the defaults); bench_quality2.py --only titled demo measures the "
        "stores with photos",
    )
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    saved = q2.Q2 / "nothing_titled_evidence.pkl"
    if a.reuse:
        fit(pickle.loads(saved.read_bytes()))
        return 0
    if a.measure:
        return measure()
    products = load_fashion()
    rows = q2.heldout_rows(products, a.seed)
    store_name = "titled_store"
    if a.heads_dir:
        q2.use_heldout_heads(a.heads_dir.resolve())
        store_name = f"titled_store_heldout_heads_{a.heads_dir.name}"
    titled = q2.titled_engine(products, rows, store_name)
    q2.reuse_photo_features(titled)
    # the calibration titles and attribute queries bench_quality2.py leaves out of its measured ones
    pick = q2.calibration_title_rows(len(rows), a.seed, a.calibration_titles)[: a.titles]
    attrs = [product_attributes(products[i], FIELD_MAP) for i in rows]
    queries, _, _ = make_queries(attrs, a.seed)
    qids = set(random.Random(a.seed).sample(sorted(queries["en"]), min(a.queries, len(queries["en"]))))
    spare = sorted(random.Random(a.seed + 4).sample(sorted(set(queries["en"]) - qids), a.attribute_queries))
    keep = [products[rows[i]].title for i in pick] + [queries[lang][q] for q in spare for lang in ("en", "zh")]
    stores = {"titled": collect(titled, "titled store", keep)}
    titled.close()
    text = text_only_engine(q2.Q2 / "titled.csv", "titled_text_store")
    stores["titled, text only"] = collect(text, "titled store, text only", keep)
    text.close()
    demo_dir = q2.Q2 / "demo_store"
    if not demo_dir.is_dir():
        raise SystemExit(f"{demo_dir} is missing: run bench_quality2.py --only demo first")
    import shoplens.align.heads as heads_mod

    if "path" in q2.SHIPPED_HEADS:  # the demo store was built with the shipped heads (bench_quality2.demo_check)
        heads_mod.default_heads_path = lambda: q2.SHIPPED_HEADS["path"]
    demo = Engine.open(demo_dir, EngineConfig(encoders=EncoderConfig(cache_dir=str(q2.ONNX))))
    prods = list(demo.reader.products.all_products())
    dq, _, _ = make_queries([product_attributes(p, FIELD_MAP) for p in prods if p.title], a.seed)
    # the demo has no measured/calibration split of its own: half its attribute queries, seeded
    dspare = sorted(random.Random(a.seed + 5).sample(sorted(dq["en"]), len(dq["en"]) // 2))
    dkeep = [dq[lang][q] for q in dspare for lang in ("en", "zh")]
    stores["demo"] = collect(demo, "demo store", dkeep)
    demo.close()
    from shoplens.cli.demo import DEMO_DIR

    text = text_only_engine(DEMO_DIR / "catalog.csv", "demo_text_store")
    stores["demo, text only"] = collect(text, "demo store, text only", dkeep)
    text.close()
    saved.write_bytes(pickle.dumps(stores))
    fit(stores)
    print(f"({time.perf_counter() - t0:.0f}s)")
    return 0


def fit(stores: dict) -> None:
    """Two grids; prints the values to set. 1: the e5 midpoints (other pairs, Chinese pairs) on the
    text-only stores, where e5 alone vouches. 2: the with-photos midpoint and the photo agreement on
    the stores with photos. Each maximises (out-of-catalog pages emptied) + (e5-only pages kept) among
    the settings that empty no title or attribute page; the middle of the best range when several tie."""
    base = QualityConfig()
    mc = base.min_confidence
    groups = {"e5_only": "e5_only", "nothing": "nothing", "must": "must_keep"}

    def pooled(names):
        return {g: arrays([e[1] for n in names for e in stores[n][k]]) for g, k in groups.items()}

    def score(sets, *setting):
        lost = int((~kept(sets["must"], *setting, mc)).sum())
        return (
            lost,
            float(kept(sets["e5_only"], *setting, mc).mean()),
            float((~kept(sets["nothing"], *setting, mc)).mean()),
        )

    def best(table):
        ok = [t for t in table if t[-3] == 0]
        top = max(t[-2] + t[-1] for t in ok)
        tied = sorted(t for t in ok if t[-2] + t[-1] >= top - 1e-12)
        return tied[len(tied) // 2], len(tied)

    text = pooled([n for n in stores if "text only" in n])
    photos = pooled([n for n in stores if "text only" not in n])
    mids = np.round(np.arange(0.80, 0.9001, 0.005), 4)
    t1 = [(float(m), float(mz), *score(text, m, mz, 0.0, 0.0)) for m in mids for mz in mids]
    (m, mz, *r1), n1 = best(t1)
    b1 = next(t for t in t1 if t[:2] == (0.815, 0.815))
    print(
        f"1. text-only stores: midpoint {m:.3f}, Chinese pairs {mz:.3f} ({n1} tied): titles/attribute pages lost "
        f"{r1[0]}, e5-only kept {r1[1]:.3f}, out-of-catalog empty {r1[2]:.3f}; before (0.815, 0.815): "
        f"{b1[3]:.3f} / {b1[4]:.3f}"
    )
    agrees = np.round(np.arange(0.30, 0.5001, 0.01), 4)
    t2 = [(float(mp), float(ag), *score(photos, m, mz, mp, ag)) for mp in mids for ag in agrees]
    (mp, ag, *r2), n2 = best(t2)
    b2 = score(photos, 0.815, 0.815, 0.0, 0.0)
    print(
        f"2. stores with photos: with-photos midpoint {mp:.3f}, photo agreement {ag:.2f} ({n2} tied): titles/"
        f"attribute pages lost {r2[0]}, e5-only kept {r2[1]:.3f}, out-of-catalog empty {r2[2]:.3f}; before "
        f"(0.815, off): {b2[1]:.3f} / {b2[2]:.3f}"
    )
    print(f"{'with photos':>11} {'agreement':>9} {'lost':>5} {'e5-only kept':>13} {'out empty':>10}")
    for t in t2:
        if (t[0] == mp and round(t[1] * 100) % 2 == 0) or (t[1] == ag and round(t[0] * 1000) % 10 == 0):
            print(f"{t[0]:>11.3f} {t[1]:>9.2f} {t[2]:>5} {t[3]:>13.3f} {t[4]:>10.3f}")
    per_store = {}
    for name, st in stores.items():
        one = {g: arrays([e[1] for e in st[k]]) for g, k in groups.items()}
        ke, kn = kept(one["e5_only"], m, mz, mp, ag, mc), kept(one["nothing"], m, mz, mp, ag, mc)
        per_store[name] = {
            "e5_only_kept": round(float(ke.mean()), 3),
            "e5_only_lost": [q for (q, _, _), k in zip(st["e5_only"], ke) if not k],
            "nothing_empty": round(float((~kn).mean()), 3),
            "nothing_still": [q for (q, _), k in zip(st["nothing"], kn) if k],
            "not_e5_only_here": st["skipped"],
        }
        print(f"{name}: {per_store[name]}")
    print(
        f'set QualityConfig.cosine_midpoints["{E5}"] = ({m:.3f}, {SCALE}), cosine_midpoints_chinese["{E5}"] = '
        f'({mz:.3f}, {SCALE}), cosine_midpoints_with_photos["{E5}"] = ({mp:.3f}, {SCALE}), '
        f"dense_photo_agreement = {ag:.2f}"
    )
    out = q2.Q2 / "nothing_titled_fit.json"
    res = {
        "midpoint": m,
        "chinese": mz,
        "with_photos": mp,
        "agreement": ag,
        "text_only": r1,
        "photos": r2,
        "stores": per_store,
    }
    out.write_text(json.dumps(res, indent=2, ensure_ascii=False))
    print(f"results: {out}")


if __name__ == "__main__":
    raise SystemExit(main())
