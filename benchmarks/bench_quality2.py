"""Search quality, round 2 (issue #12), every figure through `Engine.search` on a photo-only store.

    nice .venv/bin/python benchmarks/bench_quality2_heads.py    # once: heads trained without the slice
    nice .venv/bin/python benchmarks/bench_quality2.py --only calibrate tune     # settings, on samples apart
    nice .venv/bin/python benchmarks/bench_quality2.py --only attributes free titles photo nothing
    nice .venv/bin/python benchmarks/bench_quality2.py --only price
    nice .venv/bin/python benchmarks/bench_quality2.py --heads shipped --only latency

Protocol
* The held-out 20% of the shared fashion products (seed 0, as benchmarks/align_quality.py chooses
  them) form a PHOTO-ONLY store (id + photo + a price from the id; no titles, no attributes), built with
  `Engine.build`. `--heads heldout` (default): the store adopts heads trained with the shipped
  recipe on the other 80% only (bench_quality2_heads.py). `--heads shipped`: the shipped heads,
  whose training saw every fashion product (held-out ones included), so its figures are optimistic.
* "legacy" = search as before round 2 (`shoplens.search.tuning.LEGACY`), "new" = the defaults.
* Attribute queries: every (gender, colour, type) of the slice, template wording EN
  ("men black shoes") and ZH ("男士 黑色 运动鞋"); judgments same type+gender+colour = 2, same
  type+gender = 1; reference BM25 over the held-out titles (EN), as align_quality.py.
* Free wordings of the same queries: EN "looking for a black shoes for my husband", "shoes in
  black for men"; ZH without spaces "男士黑色运动鞋", "适合男生的黑色运动鞋".
* Exact title -> photo: every held-out title except the calibration ones (1,342 of 1,542; also the
  200-title sample earlier rounds reported); hit if a product with that title is in the top 10;
  reference: the aligned cosine alone (same heads, same store).
* Photo + colour word: anchor photos whose type+gender exists in another colour in the slice;
  query = that colour's word (EN / ZH) + the anchor photo; judged as above with the asked colour;
  reference: the photo alone.
* Nothing to find: out-of-catalog and nonsense queries (EN + ZH); share that return no hits.
* Photo + "cheaper" / "more expensive" (EN, ZH): judged same type+gender on the asked side of the
  anchor's price = 2, same type on that side = 1; also the share of hits on that side.
* calibrate: kind_query_evidence from titles apart from the measured ones; tune: the compose
  negative-caption weight on the 60 tasks the other compose weights were tuned on.
* First-query latency: a fresh process opens the store and runs one Chinese query, with and
  without the warm-up at open (the warm-up finished first, as on a server).
Writes a markdown summary to stdout and JSON to benchmarks/out/quality2/results.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, load_fashion  # noqa: E402
from align_quality import BM25, make_queries  # noqa: E402
from common import seed_cache  # noqa: E402
from e5_only_queries import MEASURED as E5_ONLY  # noqa: E402
from nothing_queries import CALIBRATION, MEASURED, ROUND2, flat, kind_of  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.config import BuildConfig, EncoderConfig, EngineConfig  # noqa: E402
from shoplens.engine import Engine  # noqa: E402
from shoplens.evaluate.metrics import evaluate  # noqa: E402
from shoplens.preprocess import lexicon  # noqa: E402
from shoplens.search.confidence import cosine_evidence, noisy_or  # noqa: E402
from shoplens.search.tuning import LEGACY, QualityConfig  # noqa: E402
from shoplens.store.layout import current_generation  # noqa: E402

Q2 = OUT / "quality2"
HELDOUT_HEADS = Q2 / "heads_heldout"
ONNX = OUT / "align_cache" / "onnx"

# Nothing in a fashion shop answers these (garden, electronics, furniture, food, nonsense, other
# languages; EN + ZH): the measured set, and apart from it the set the confidence is calibrated on.
NOTHING_TO_FIND = flat(MEASURED)
NOTHING_CALIBRATION = flat(CALIBRATION)


# main's defaults before titles round 4 (0fbeeef): the "prev" variant, the same-run "before" of
# every figure that round changes. (Before the query-mode re-calibration, 5c14a9d, "prev" was the
# midpoints 0.42 and the compose weights of PREVIOUS_5C14A9D.)
PREVIOUS = QualityConfig().with_(
    rescore_checked_attributes_only=False,
    rescore_agreement_depth=0,
    title_shape_without_type=False,
    attributes_available_by_asked_field=False,
    cosine_midpoints={
        "text_dense:e5": (0.815, 0.01),
        "text_to_image": (0.4375, 0.01),
        "reviews": (0.815, 0.01),
        "text_to_video": (0.4375, 0.01),
    },
    cosine_midpoints_chinese={},
    dense_photo_agreement=0.0,
    rescore_mlp_without_attributes_only=False,
)
PREVIOUS_5C14A9D = PREVIOUS.with_(
    cosine_midpoints={
        "text_dense:e5": (0.815, 0.01),
        "text_to_image": (0.42, 0.01),
        "reviews": (0.815, 0.01),
        "text_to_video": (0.42, 0.01),
    },
    compose_caption_weight=3.0,
    compose_attribute_weight=0.05,
    compose_candidates=400,
    compose_photo_floors={"type": 0.2, "gender": 0.2},
    compose_asked_floors={},
    compose_mlp=False,
    compose_photo_weight=1.0,
    compose_photo_similarity="aligned",
)


# today's defaults with the e5 settings of 0fbeeef (before they were fitted on stores with titles): the
# "before" variant of `--only titled demo` (benchmarks/bench_nothing_titled.py fits the new ones)
BEFORE = QualityConfig().with_(
    cosine_midpoints={**QualityConfig().cosine_midpoints, "text_dense:e5": (0.815, 0.01)},
    cosine_midpoints_chinese={},
    dense_photo_agreement=0.0,
)


def split_values(fld: str, vals: str) -> list[str]:
    """Values of one --tune-setting / --tune-grid axis: comma-separated, or ';' for a dict field."""
    return vals.split(";") if isinstance(getattr(QualityConfig(), fld), dict) else vals.split(",")


def setting_value(fld: str, val: str):
    """A QualityConfig value from its command-line text (dicts as JSON, bools as true/false)."""
    kind = type(getattr(QualityConfig(), fld))
    if kind is dict:
        return json.loads(val)
    if kind is bool:
        return val.lower() in ("1", "true", "yes")
    return kind(val)


def _cjk(q: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in q)


def nothing_shares(engine, sets: dict[str, list[str]] = MEASURED) -> dict:
    """Share of the nothing-to-find queries that return no hits: all, English words (no symbols, no
    other languages), Chinese, round 2's 43, and by kind."""
    queries, kinds = flat(sets), kind_of(sets)
    empty = {t: not engine.search(t, k=10).hits for t in queries}

    def share(qs) -> float:
        return float(np.mean([empty[q] for q in qs])) if qs else float("nan")

    en = [q for q in queries if not _cjk(q) and kinds[q] not in ("symbols", "other languages")]
    zh = [q for q in queries if _cjk(q)]
    return {
        "all": share(queries),
        "n": len(queries),
        "en_words": share(en),
        "n_en": len(en),
        "zh": share(zh),
        "n_zh": len(zh),
        "round2_43": share(ROUND2),
        "by_kind": {k: round(share(qs), 3) for k, qs in sets.items()},
        "returned": [q for q in queries if not empty[q]],
    }


def e5_only_pages(engine, sets: dict[str, tuple[str, ...]] = E5_ONLY) -> dict:
    """In-catalog queries only e5 vouches for on this store (e5_only_queries.py: the lexicon does not read
    them, BM25 has no part in their page, with the thresholds off): share that keep a page, and that
    find a product of the type they name in the top 10 (thresholds on)."""
    from shoplens.preprocess.text import tokenize
    from shoplens.search.understand import understand

    q = engine.searcher.quality
    set_quality(engine, q.with_(min_confidence=0.0, min_hit_confidence=0.0))
    titles = {p.id: p.title or "" for p in engine.reader.products.all_products()}
    mine = [
        t
        for t in sets
        if tokenize(t)
        and not understand(t).fields
        and not any("bm25" in h.components for h in engine.search(t, k=10).hits)
    ]
    set_quality(engine, q)
    pages = {t: engine.search(t, k=10).hits for t in mine}
    lost = [t for t in mine if not pages[t]]
    found = [t for t in mine if any(lexicon.product_type(titles.get(h.id, "")) in sets[t] for h in pages[t])]
    n = max(len(mine), 1)
    return {"n": len(mine), "kept": 1 - len(lost) / n, "found": len(found) / n, "lost": lost}


def heldout_rows(products, seed: int = 0, frac: float = 0.2) -> np.ndarray:
    usable = np.flatnonzero([bool(p.images) and bool(p.title) for p in products])
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(usable, size=int(round(frac * len(usable))), replace=False))


def use_heldout_heads(path: Path = HELDOUT_HEADS) -> None:
    """Make the heads trained without the held-out slice (bench_quality2_heads.py) the ones a new
    store adopts, for this process: the store is built and searched exactly as a shop's would be."""
    import shoplens.align.heads as heads_mod

    if not path.exists():
        raise SystemExit(f"{path} is missing: run benchmarks/bench_quality2_heads.py first")
    SHIPPED_HEADS.setdefault("path", heads_mod.default_heads_path())
    heads_mod.default_heads_path = lambda: path


SHIPPED_HEADS: dict[str, Path] = {}


def demo_check(variants: dict, seed: int) -> dict:
    """The bundled demo catalog (`shoplens demo`: 300 products with titles, 20 photo-only) with the
    shipped heads: its example searches and every (gender, colour, type) query of its products, EN
    and ZH, must keep their hits; the nothing-to-find set should empty."""
    import shoplens.align.heads as heads_mod
    from shoplens.cli.demo import DEMO_DIR, EXAMPLES

    patched = heads_mod.default_heads_path
    if "path" in SHIPPED_HEADS:
        heads_mod.default_heads_path = lambda: SHIPPED_HEADS["path"]
    try:
        store = Q2 / "demo_store"
        cfg = EngineConfig(encoders=EncoderConfig(cache_dir=str(ONNX)))
        if not (store.is_dir() and current_generation(store) is not None):
            seed_cache(store)
            Engine.build(DEMO_DIR / "catalog.csv", store, cfg, BuildConfig(auto_align=False, progress=False)).close()
        engine = Engine.open(store, cfg)
        prods = list(engine.reader.products.all_products())
        attrs = [product_attributes(p, FIELD_MAP) for p in prods if p.title]
        queries, _, _ = make_queries(attrs, seed)
        first = next(p for p in prods if p.images and p.title)
        out = {}
        for v, q in variants.items():
            set_quality(engine, q)
            examples = {
                f"{text or ''} + photo" if img else text: len(
                    engine.search(text, image=str(first.images[0]) if img else None, k=5).hits
                )
                for _, text, img in EXAMPLES
            }
            empty = {
                lang: [t for t in queries[lang].values() if not engine.search(t, k=10).hits] for lang in ("en", "zh")
            }
            out[v] = {
                "examples_hits": examples,
                "attribute_queries": len(queries["en"]),
                "attribute_empty_en": empty["en"],
                "attribute_empty_zh": empty["zh"],
                "nothing": nothing_shares(engine),
                "e5_only": e5_only_pages(engine),
            }
            print(
                f"demo store, {v}: example hits {examples}; {len(queries['en'])} attribute queries, empty EN "
                f"{len(empty['en'])} {empty['en'][:5]}, ZH {len(empty['zh'])} {empty['zh'][:5]}; nothing-to-find "
                f"empty {out[v]['nothing']['all']:.3f} (EN words {out[v]['nothing']['en_words']:.3f}, ZH "
                f"{out[v]['nothing']['zh']:.3f}); returned {out[v]['nothing']['returned']}; e5-only queries "
                f"({out[v]['e5_only']['n']}): kept {out[v]['e5_only']['kept']:.3f}, found "
                f"{out[v]['e5_only']['found']:.3f}, lost {out[v]['e5_only']['lost']}",
                flush=True,
            )
        engine.close()
        return out
    finally:
        heads_mod.default_heads_path = patched


def photo_only_engine(products, rows, store_name: str = "photo_only_store", image: tuple | None = None) -> Engine:
    """`image`: the store's image encoders when not the defaults (heads that read other ones)."""
    store = Q2 / store_name
    enc = EncoderConfig(cache_dir=str(ONNX))
    cfg = EngineConfig(encoders=enc if image is None else replace(enc, image=tuple(image)))
    if not store.is_dir() or current_generation(store) is None:
        Q2.mkdir(parents=True, exist_ok=True)
        # same photos, same encoders: features cached by earlier runs (the align cache, other stores)
        seed_cache(store)
        # ... and the photos' OCR readings (keyed by reader fingerprint + photo hash), from a sibling store
        ocr = store / "cache" / "ocr.sqlite"
        src = next((p for p in sorted(Q2.glob("*/cache/ocr.sqlite")) if p != ocr), None)
        if src is not None and not ocr.exists():
            shutil.copyfile(src, ocr)
    else:
        engine = Engine.open(store, cfg)
        if engine.reader.products.get([0])[0].price is not None:
            return engine  # built with prices: nothing to do
        engine.close()
    cat = Q2 / "photo_only.csv"
    with open(cat, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "image", "price"])
        for i in rows:
            w.writerow([products[i].id, products[i].images[0], price_of(products[i].id)])
    # incremental: a store built before prices were added gets them (photo features are cached)
    Engine.build(cat, store, cfg, BuildConfig(auto_align=False, progress=True)).close()
    return Engine.open(store, cfg)


def titled_engine(products, rows, store_name: str) -> Engine:
    """The same held-out products as a shop would index them: title, photo, attributes, price (the
    confidence must not empty pages that titles and attributes answer)."""
    store = Q2 / store_name
    cfg = EngineConfig(encoders=EncoderConfig(cache_dir=str(ONNX)))
    if store.is_dir() and current_generation(store) is not None:
        return Engine.open(store, cfg)
    seed_cache(store)
    ocr = store / "cache" / "ocr.sqlite"
    src = next((p for p in sorted(Q2.glob("*/cache/ocr.sqlite")) if p != ocr), None)
    if src is not None and not ocr.exists():
        shutil.copyfile(src, ocr)
    cat = Q2 / "titled.csv"
    cols = sorted({c for i in rows for c in products[i].attributes})
    with open(cat, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "image", "price", *cols])
        for i in rows:
            p = products[i]
            w.writerow([p.id, p.title, p.images[0], price_of(p.id), *(p.attributes.get(c, "") for c in cols)])
    Engine.build(cat, store, cfg, BuildConfig(auto_align=False, progress=True)).close()
    return Engine.open(store, cfg)


def heads_image_encoders(heads_dir: Path | None) -> tuple | None:
    """The image encoders heads in `heads_dir` read, when not the default ones (the store must make them)."""
    if heads_dir is None:
        return None
    image = tuple(json.loads((heads_dir / "heads.json").read_text())["image"]["inputs"])
    return None if image == EncoderConfig().image else image


def price_of(pid: str) -> float:
    """The shared fashion catalog has no prices: a deterministic one from the id (10.00 .. 209.99),
    unrelated to the photo, so that "cheaper" can only be answered by reading the price."""
    return 10.0 + int(hashlib.sha1(pid.encode()).hexdigest()[:8], 16) % 20000 / 100.0


def ndcg(engine, texts: dict[str, str], qrels, images: dict[str, str] | None = None, k: int = 10) -> dict:
    """Mean NDCG@10 over every query (a query with no hits scores 0) and how many came back empty."""
    run, empty, ids = {}, 0, {}
    for qid in texts:
        res = engine.search(texts[qid] or None, image=(images or {}).get(qid), k=k)
        run[qid] = {h.id: float(k - r) for r, h in enumerate(res.hits)}
        ids[qid] = [h.id for h in res.hits]
        empty += not res.hits
    per = evaluate({q: r for q, r in run.items() if r}, qrels, ["ndcg@10"]).per_query
    vals = [per.get(q, {}).get("ndcg@10", 0.0) for q in texts]
    return {"ndcg10": float(np.mean(vals)), "empty": empty, "n": len(texts), "per_query": vals, "ids": ids}


def reuse_photo_features(engine) -> None:
    """Quality tasks search the same anchor photos under several settings: encode each photo once
    (the CNNs are deterministic; everything after the encoding runs as `Engine.search` does).
    Latency is measured in fresh processes, without this."""
    qenc = engine.searcher.qenc
    encode, memo = qenc.image_feats, {}

    def image_feats(image):
        key = str(image) if isinstance(image, (str, Path)) else None
        if key is None:
            return encode(image)
        if key not in memo:
            memo[key] = encode(image)
        return memo[key]

    qenc.image_feats = image_feats


def set_quality(engine, q: QualityConfig) -> None:
    engine.searcher.quality = q


def free_wordings(combos) -> dict[str, dict[str, str]]:
    """Wordings that are not "gender colour type"."""
    who_en = {"Men": "my husband", "Women": "my wife", "Boys": "my son", "Girls": "my daughter", "Unisex": "anyone"}
    who_zh = {"Men": "男生", "Women": "女生", "Boys": "男孩", "Girls": "女孩", "Unisex": "男女通用"}
    who_zh_people = {"Men": "老公", "Women": "老婆", "Boys": "儿子", "Girls": "女儿", "Unisex": "男女"}
    out = {"en_sentence": {}, "en_colour_after": {}, "zh_no_spaces": {}, "zh_sentence": {}, "zh_people": {}}
    for qid, (g, c, t) in combos.items():
        ce, te, ge = (lexicon.wording(f, v) for f, v in (("colour", c), ("type", t), ("gender", g)))
        cz, tz, gz = (lexicon.wording(f, v, "zh") for f, v in (("colour", c), ("type", t), ("gender", g)))
        out["en_sentence"][qid] = f"looking for {ce} {te} for {who_en.get(g, ge)}"
        out["en_colour_after"][qid] = f"{te} in {ce} for {ge}"
        out["zh_no_spaces"][qid] = f"{gz}{cz}{tz}"
        out["zh_sentence"][qid] = f"适合{who_zh.get(g, gz)}的{cz}{tz}"
        out["zh_people"][qid] = f"给{who_zh_people.get(g, gz)}买的{cz}{tz}"
    return out


def calibration_title_rows(n_rows: int, seed: int, n: int) -> list[int]:
    """The titles `--only calibrate` tunes on: drawn apart from the 400-title sample the measured
    titles once were (kept so, so that they stay the same titles); the title task leaves them out."""
    measured = set(random.Random(seed + 1).sample(range(n_rows), min(400, n_rows)))
    rest = [i for i in range(n_rows) if i not in measured]
    return sorted(random.Random(seed + 3).sample(rest, min(n, len(rest))))


def measured_title_rows(n_rows: int, seed: int, n: int, calibration: int) -> list[int]:
    """n = 0: every held-out title but the calibration ones; else a seeded sample of n (earlier rounds: 200)."""
    if n <= 0:
        apart = set(calibration_title_rows(n_rows, seed, calibration))
        return [i for i in range(n_rows) if i not in apart]
    return sorted(random.Random(seed + 1).sample(range(n_rows), min(n, n_rows)))


def title_recall(engine, titles: list[str], all_titles: np.ndarray, gallery_ids: list[str], k: int = 10) -> float:
    hits = 0
    for t in titles:
        res = engine.search(t, k=k)
        want = t.strip().lower()
        hits += any(all_titles[gallery_ids.index(h.id)] == want for h in res.hits)
    return hits / len(titles)


def title_recall_cosine(engine, titles, all_titles, k: int = 10) -> float:
    idx = engine.reader.vectors["aligned:image"]
    docs = np.arange(len(engine.reader.products.ids))
    found, gal = idx.vectors_of(docs)
    hits = 0
    for t in titles:
        s = gal @ engine.searcher._heads_text(t)
        s[~found] = -np.inf
        top = np.argsort(-s)[:k]
        hits += any(all_titles[d] == t.strip().lower() for d in top)
    return hits / len(titles)


def photo_and_colour_tasks(attrs, products, rows, n: int, seed: int):
    rng = random.Random(seed)
    by_tg: dict[tuple, set] = {}
    for a in attrs:
        if all(f in a for f in ("gender", "colour", "type")):
            by_tg.setdefault((a["type"], a["gender"]), set()).add(a["colour"])
    cand = [i for i, a in enumerate(attrs) if all(f in a for f in ("gender", "colour", "type"))]
    cand = [i for i in cand if len(by_tg[(attrs[i]["type"], attrs[i]["gender"])] - {attrs[i]["colour"]}) > 0]
    rng.shuffle(cand)
    tasks = []
    for i in cand[:n]:
        a = attrs[i]
        c2 = rng.choice(sorted(by_tg[(a["type"], a["gender"])] - {a["colour"]}))
        tasks.append((i, c2))
    qrels, en, zh, img = {}, {}, {}, {}
    for k, (i, c2) in enumerate(tasks):
        qid = f"p{k:04d}"
        a = attrs[i]
        en[qid], zh[qid] = lexicon.wording("colour", c2), lexicon.wording("colour", c2, "zh")
        img[qid] = products[rows[i]].images[0]
        qrels[qid] = {
            products[rows[j]].id: (2 if b.get("colour") == c2 else 1)
            for j, b in enumerate(attrs)
            if b.get("type") == a["type"] and b.get("gender") == a["gender"]
        }
    return en, zh, img, qrels


TUNED = 60  # photo + colour tasks the compose weights were tuned on (the first 60 of 150)


def price_tasks(attrs, products, rows, n: int, seed: int):
    """Photo + "cheaper" / "more expensive": an anchor photo of the slice and the words; judged
    same type+gender and priced on the asked side of the anchor = 2, same type and the right
    side = 1 (a product on the wrong side of the price answers another question)."""
    rng = random.Random(seed + 2)
    cand = [i for i, a in enumerate(attrs) if "type" in a and "gender" in a]
    rng.shuffle(cand)
    out = {}
    words = {"lower": ("cheaper", "更便宜"), "higher": ("more expensive", "更贵")}
    for direction, (w_en, w_zh) in words.items():
        en, zh, img, qrels = {}, {}, {}, {}
        for k, i in enumerate(cand[:n]):
            qid = f"{direction}{k:04d}"
            a, ref = attrs[i], price_of(products[rows[i]].id)
            en[qid], zh[qid], img[qid] = w_en, w_zh, products[rows[i]].images[0]
            judged = {}
            for j, b in enumerate(attrs):
                p = price_of(products[rows[j]].id)
                if b.get("type") == a["type"] and ((p < ref) if direction == "lower" else (p > ref)):
                    judged[products[rows[j]].id] = 2 if b.get("gender") == a["gender"] else 1
            qrels[qid] = judged
        out[direction] = (en, zh, img, {q: r for q, r in qrels.items()})
    return out


def price_side(result: dict, images, direction: str) -> float:
    """Share of the hits (other than the anchor itself) priced on the asked side of the anchor."""
    ok = n = 0
    for qid, hit_ids in result["ids"].items():
        ref_id = Path(images[qid]).stem  # the anchor is a catalog product: its photo is <id>.jpg
        ref = price_of(ref_id)
        for pid in hit_ids:
            if pid == ref_id:
                continue
            p = price_of(pid)
            ok += (p < ref) if direction == "lower" else (p > ref)
            n += 1
    return ok / max(n, 1)


# The heads' similarities (one query vector serves both): their confidence midpoint moves when the
# heads are retrained, so it is fitted again here; e5's midpoint does not depend on the heads.
HEADS_COMPONENTS = ("text_to_image", "text_to_video")


def page_evidence(engine, text: str, k: int = 10) -> list[tuple[float, float]]:
    """(confidence from every other piece of evidence, text_to_image cosine) of each hit search judges
    for a page of k (the first 2k + 10 fused hits), thresholds off; [] when the query has no words."""
    from shoplens.preprocess.text import tokenize

    if not tokenize(text):
        return []  # no words, no photo: no evidence at all (search/confidence.py)
    hits = engine.search(text, k=2 * k + 10).hits
    return [
        (h.confidence or 0.0, float(h.components["text_to_image"].score) if "text_to_image" in h.components else -9.0)
        for h in hits
    ]


def partial_queries(products, rows, pick: list[int], seed: int) -> dict[str, tuple[str, str]]:
    """In-catalog queries the lexicon only half reads: a product type and one other word of a held-out
    title ("printed tshirts", "puma shoes", "analog watches"), the word in at least 5 of the store's
    titles. On a photo-only store nothing but the aligned cosine can vouch for their page, so they are
    what a too-high midpoint would empty. query -> (word, type); products from `pick` only."""
    import re

    from shoplens.search.understand import understand

    def words(t: str | None) -> set[str]:
        return set(re.findall(r"[a-z]{3,}", (t or "").lower()))

    df: dict[str, int] = {}
    for d in range(len(rows)):
        for w in words(products[rows[d]].title):
            df[w] = df.get(w, 0) + 1
    out: dict[str, tuple[str, str]] = {}
    for i in pick:
        title = products[rows[i]].title
        ptype = lexicon.product_type(title)
        if ptype is None:
            continue
        u = understand(title)
        cand = sorted(w for w in words(u.residual) if df.get(w, 0) >= 5 and not understand(w).fields)
        if cand:
            w = random.Random(seed * 100003 + i).choice(cand)
            out.setdefault(f"{w} {lexicon.wording('type', ptype)}", (w, ptype))
    return out


def partial_found(engine, queries: dict[str, tuple[str, str]], products, rows, ids) -> dict:
    """Share of the partial queries that keep a page, and that find a product of the type whose title
    has the word in their top 10 (chance: such products are ~1-3% of the store)."""
    title_of = {products[rows[d]].id: (products[rows[d]].title or "").lower() for d in range(len(rows))}
    kept = found = 0
    for q, (w, ptype) in queries.items():
        hits = engine.search(q, k=10).hits
        kept += bool(hits)
        found += any(w in title_of[h.id].split() and lexicon.product_type(title_of[h.id]) == ptype for h in hits)
    n = max(len(queries), 1)
    return {"n": len(queries), "kept": kept / n, "found": found / n}


def page_kept(evidence, mid: float, scale: float, min_confidence: float) -> bool:
    """Would the page stay with this midpoint: any judged hit whose noisy-OR reaches min_confidence."""
    return any(noisy_or([other, cosine_evidence(cos, mid, scale)]) >= min_confidence for other, cos in evidence)


def measured_titles(rows, a) -> list[int]:
    return measured_title_rows(len(rows), a.seed, a.titles, a.calibration_titles)


def calibration_titles(rows, a) -> list[int]:
    """Held-out products whose titles calibrate (as the calibrate section picks them): none measured."""
    return calibration_title_rows(len(rows), a.seed, a.calibration_titles)


def fit_midpoint(engine, products, rows, ids, queries, qids, a) -> dict:
    """The text_to_image confidence midpoint for these heads, on queries apart from the measured ones.

    In-catalog side: held-out titles apart from the measured titles whose photo search puts in the top
    10 (thresholds off), and attribute queries apart from the measured ones (EN and ZH); their pages
    should stay. Out-of-catalog side: nothing_queries.CALIBRATION; their pages should empty. The
    midpoint maximises (share of out-of-catalog pages emptied) + (share of in-catalog pages kept), the
    middle of the best range when several tie. The scale stays (0.01: a near step)."""
    base = QualityConfig()
    scale = base.cosine_midpoints["text_to_image"][1]
    others = {c: v for c, v in base.cosine_midpoints.items() if c not in HEADS_COMPONENTS}
    set_quality(engine, base.with_(min_confidence=0.0, min_hit_confidence=0.0, cosine_midpoints=others))
    pick = calibration_titles(rows, a)
    all_titles = np.array([(products[rows[d]].title or "").strip().lower() for d in range(len(rows))])
    inside: list[tuple[str, list]] = []
    for i in pick:
        t = products[rows[i]].title
        ev = page_evidence(engine, t)
        top = engine.search(t, k=10).hits
        if any(all_titles[ids.index(h.id)] == t.strip().lower() for h in top):
            inside.append((t, ev))
    n_titles = len(inside)
    spare = sorted(set(queries["en"]) - set(qids))
    spare = sorted(random.Random(a.seed + 4).sample(spare, min(a.calibration_queries, len(spare))))
    for q in spare:
        for lang in ("en", "zh"):
            inside.append((queries[lang][q], page_evidence(engine, queries[lang][q])))
    partial = partial_queries(products, rows, pick, a.seed)
    n_partial = len(partial)
    for q in partial:
        inside.append((q, page_evidence(engine, q)))
    outside = [(t, page_evidence(engine, t)) for t in NOTHING_CALIBRATION]
    grid = np.round(np.arange(0.30, 0.80, 0.0025), 4)
    rows_out = []
    for m in grid:
        kept_in = float(np.mean([page_kept(ev, m, scale, base.min_confidence) for _, ev in inside]))
        empty_out = float(np.mean([not page_kept(ev, m, scale, base.min_confidence) for _, ev in outside]))
        rows_out.append((float(m), kept_in, empty_out))
    score = np.array([k + e for _, k, e in rows_out])
    best = np.flatnonzero(score >= score.max() - 1e-12)
    mid = float(grid[best[len(best) // 2]])
    current = base.cosine_midpoints["text_to_image"][0]
    at = {
        f"{m:.4f}": {"in_kept": k, "out_empty": e}
        for m, k, e in rows_out
        if abs(m - mid) < 1e-9 or abs(m - current) < 1e-9 or round(m * 400) % 8 == 0
    }
    print(f"{'midpoint':>9} {'in-catalog kept':>16} {'out-of-catalog empty':>21}")
    for m, v in at.items():
        print(f"{m:>9} {v['in_kept']:>16.3f} {v['out_empty']:>21.3f}")
    still = [t for t, ev in outside if page_kept(ev, mid, scale, base.min_confidence)]
    lost = [t for t, ev in inside if not page_kept(ev, mid, scale, base.min_confidence)]
    print(
        f"text_to_image midpoint: {mid:.4f} (best range {grid[best[0]]:.4f}..{grid[best[-1]]:.4f}; now {current}); "
        f"{len(inside)} in-catalog pages ({n_titles} titles found + {2 * len(spare)} attribute queries + "
        f"{n_partial} type + word queries), "
        f"{len(outside)} out-of-catalog; out-of-catalog still answered: {still}; in-catalog emptied: {lost}",
        flush=True,
    )
    print(f'set QualityConfig.cosine_midpoints "text_to_image" and "text_to_video" to ({mid:.4f}, {scale})')
    return {
        "text_to_image": mid,
        "scale": scale,
        "best_range": [float(grid[best[0]]), float(grid[best[-1]])],
        "in_catalog": len(inside),
        "titles_found": n_titles,
        "attribute_queries": 2 * len(spare),
        "type_and_word_queries": n_partial,
        "out_of_catalog": len(outside),
        "still_answered": still,
        "in_catalog_emptied": lost,
        "grid": at,
    }


FIRST_QUERY = """
import sys, time
from shoplens.config import EncoderConfig, EngineConfig
from shoplens.engine import Engine
from shoplens.search.tuning import QualityConfig
warm = sys.argv[1] == "1"
# cold: the engine's own background warm-up must not run before the first query
cfg = EngineConfig(encoders=EncoderConfig(cache_dir=sys.argv[3]), quality=QualityConfig(warm_up=warm))
e = Engine(sys.argv[2], cfg)
if warm:
    e.warm_up(images=False)
t = time.perf_counter(); e.search(sys.argv[4], k=10); first = time.perf_counter() - t
t = time.perf_counter(); e.search(sys.argv[5], k=10); second = time.perf_counter() - t
print(first * 1000, second * 1000)
"""


def first_query_latency(store: Path, repeats: int) -> dict:
    """Fresh processes; every query text distinct. warm = the warm-up at open finished first."""
    out: dict[str, list] = {"cold": [], "warm": [], "later": []}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    colours = ["黑色", "白色", "蓝色", "红色", "绿色", "灰色", "棕色", "粉色"]
    for r in range(repeats):
        for mode in ("cold", "warm"):
            q1 = f"男士{colours[(2 * r + (mode == 'warm')) % 8]}运动鞋 {r}{mode}"
            q2 = f"女士{colours[(3 * r + 1) % 8]}手表 {r}{mode}"
            script = FIRST_QUERY
            p = subprocess.run(
                [sys.executable, "-c", script, "1" if mode == "warm" else "0", str(store), str(ONNX), q1, q2],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if p.returncode:
                raise RuntimeError(p.stderr)
            first, second = map(float, p.stdout.split()[-2:])
            out[mode].append(first)
            out["later"].append(second)
    return {k: float(np.median(v)) for k, v in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=200, help="attribute queries sampled (of ~457)")
    ap.add_argument(
        "--titles", type=int, default=0, help="held-out titles for title -> photo (0: all but the calibration ones)"
    )
    ap.add_argument(
        "--titles-sample", type=int, default=200, help="also report this seeded sample of titles (earlier rounds)"
    )
    ap.add_argument("--anchors", type=int, default=150, help="photo + colour word tasks")
    ap.add_argument(
        "--variants",
        nargs="*",
        choices=["legacy", "prev", "before", "new"],
        default=["legacy", "new"],
        help="legacy: search before round 2 (shoplens.search.tuning.LEGACY); prev: main's defaults before the "
        "query-mode calibration; before: main's defaults before the e5 midpoints were fitted on stores with titles; "
        "new: the defaults",
    )
    ap.add_argument("--price-anchors", type=int, default=80, help="photo + cheaper / more expensive tasks")
    ap.add_argument("--coverage-floors", type=float, nargs="*", default=[0.5, 0.3])
    ap.add_argument("--negative-weights", type=float, nargs="*", default=[0.0, 0.5, 1.0, 2.0])
    ap.add_argument("--calibration-titles", type=int, default=200, help="titles apart from the measured ones")
    ap.add_argument(
        "--calibration-queries", type=int, default=100, help="midpoints: attribute queries apart from the measured"
    )
    ap.add_argument("--latency-repeats", type=int, default=3)
    ap.add_argument(
        "--heads-dir",
        type=Path,
        help="other held-out heads (bench_quality2_heads.py --out DIR, photoattr_heads.py): own store",
    )
    ap.add_argument(
        "--tune-setting",
        nargs="*",
        default=[],
        metavar="FIELD=V1,V2",
        help="tune: also try these QualityConfig values (one field at a time) on the tuning tasks",
    )
    ap.add_argument(
        "--tune-grid",
        nargs="*",
        default=[],
        metavar="FIELD=V1,V2",
        help="tune: every combination of these QualityConfig values on the tuning tasks (dicts: JSON, ';' between)",
    )
    ap.add_argument(
        "--only",
        nargs="*",
        help="tasks: attributes free titles photo price tune calibrate midpoints nothing titled demo latency",
    )
    ap.add_argument(
        "--heads",
        choices=["heldout", "shipped"],
        default="heldout",
        help="heldout: heads trained without the slice (bench_quality2_heads.py); shipped: the defaults, which saw it",
    )
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="the 'new' variant with these QualityConfig values (dicts as JSON, replacing the whole dict)",
    )
    a = ap.parse_args(argv)
    only = set(a.only or ["attributes", "free", "titles", "photo", "price", "nothing", "latency"])
    t0 = time.perf_counter()
    products = load_fashion()
    rows = heldout_rows(products, a.seed)
    store_name = "photo_only_store"
    if a.heads == "heldout":
        use_heldout_heads((a.heads_dir or HELDOUT_HEADS).resolve())
        store_name = "photo_only_store_heldout_heads" + (f"_{a.heads_dir.name}" if a.heads_dir else "")
    engine = photo_only_engine(products, rows, store_name, heads_image_encoders(a.heads_dir))
    reuse_photo_features(engine)
    ids = engine.reader.products.ids
    attrs = [product_attributes(products[i], FIELD_MAP) for i in rows]
    queries, qrels_idx, _ = make_queries(attrs, a.seed)
    qrels = {q: {products[rows[int(d)]].id: g for d, g in r.items()} for q, r in qrels_idx.items()}
    rng = random.Random(a.seed)
    qids = sorted(rng.sample(sorted(queries["en"]), min(a.queries, len(queries["en"]))))
    res: dict = {"heldout_products": int(len(rows)), "queries": len(qids), "seed": a.seed, "heads": a.heads}
    new = QualityConfig().with_(**{f: setting_value(f, v) for f, v in (x.split("=", 1) for x in a.set)})
    variants = {v: {"legacy": LEGACY, "prev": PREVIOUS, "before": BEFORE, "new": new}[v] for v in a.variants}
    print(f"photo-only store of {len(rows)} held-out products; {len(qids)} attribute queries", flush=True)

    if "attributes" in only or "nothing" in only:
        bm = BM25([products[i].title or "" for i in rows])
        run = {
            q: {products[rows[j]].id: float(s) for j, s in enumerate(bm.scores(queries["en"][q])) if s > 0}
            for q in qids
        }
        per = evaluate({q: r for q, r in run.items() if r}, qrels, ["ndcg@10"]).per_query
        res["bm25_en"] = float(np.mean([per.get(q, {}).get("ndcg@10", 0.0) for q in qids]))
        for v, cfg in variants.items():
            set_quality(engine, cfg)
            for lang in ("en", "zh"):
                r = ndcg(engine, {q: queries[lang][q] for q in qids}, qrels)
                res[f"attr_{lang}_{v}"] = r
                print(
                    f"attributes {lang} {v}: {r['ndcg10']:.4f} ({r['ndcg10'] / res['bm25_en']:.3f}x BM25)", flush=True
                )

    if "free" in only:
        allc = sorted(
            {(x["gender"], x["colour"], x["type"]) for x in attrs if all(f in x for f in ("gender", "colour", "type"))}
        )
        combos = {f"q{k:04d}": c for k, c in enumerate(allc) if f"q{k:04d}" in qids}
        for v, cfg in variants.items():
            set_quality(engine, cfg)
            for name, texts in free_wordings(combos).items():
                r = ndcg(engine, texts, qrels)
                res[f"free_{name}_{v}"] = r
                print(
                    f"free wording {name}, {v}: {r['ndcg10']:.4f} ({r['empty']} empty) "
                    f"e.g. {next(iter(texts.values()))!r}",
                    flush=True,
                )

    if "titles" in only:
        all_titles = np.array([(products[rows[ids_i]].title or "").strip().lower() for ids_i in range(len(rows))])
        # store docs are in the catalog's order: doc d = held-out row d
        assert all(ids[d] == products[rows[d]].id for d in range(len(rows)))
        picks = {"": measured_title_rows(len(rows), a.seed, a.titles, a.calibration_titles)}
        if a.titles_sample and a.titles_sample != a.titles:
            picks[f"_sample{a.titles_sample}"] = measured_title_rows(len(rows), a.seed, a.titles_sample, 0)
        for suffix, pick in picks.items():
            titles = [products[rows[i]].title for i in pick]
            res[f"title_count{suffix}"] = len(titles)
            res[f"title_R10_cosine{suffix}"] = title_recall_cosine(engine, titles, all_titles)
            print(f"title->photo R@10 cosine alone ({len(titles)} titles): {res[f'title_R10_cosine{suffix}']:.4f}")
            for v, cfg in variants.items():
                set_quality(engine, cfg)
                res[f"title_R10_{v}{suffix}"] = title_recall(engine, titles, all_titles, list(ids))
                print(
                    f"title->photo R@10 via search, {v} ({len(titles)} titles): {res[f'title_R10_{v}{suffix}']:.4f}",
                    flush=True,
                )

    if "photo" in only:
        en, zh, img, pq = photo_and_colour_tasks(attrs, products, rows, a.anchors, a.seed)
        set_quality(engine, QualityConfig())
        res["photo_alone"] = ndcg(engine, {q: "" for q in en}, pq, img)
        print(f"photo alone: {res['photo_alone']['ndcg10']:.4f} ({len(en)} tasks)", flush=True)
        for v, cfg in variants.items():
            set_quality(engine, cfg)
            for lang, texts in (("en", en), ("zh", zh)):
                r = ndcg(engine, texts, pq, img)
                res[f"photo_words_{lang}_{v}"] = r
                print(
                    f"photo + colour word {lang} {v}: {r['ndcg10']:.4f} "
                    f"({r['ndcg10'] / res['photo_alone']['ndcg10']:.3f}x photo alone)",
                    flush=True,
                )
                # the compose weights were tuned on the first TUNED tasks: the rest, separately
                for part, sl in (("tuned", slice(0, TUNED)), ("untuned", slice(TUNED, None))):
                    mine = float(np.mean(r["per_query"][sl]))
                    base = float(np.mean(res["photo_alone"]["per_query"][sl]))
                    res[f"photo_words_{lang}_{v}_{part}"] = {
                        "ndcg10": mine,
                        "photo_alone": base,
                        "n": len(r["per_query"][sl]),
                    }
                    print(
                        f"  {part} tasks ({len(r['per_query'][sl])}): {mine:.4f} "
                        f"vs photo alone {base:.4f} ({mine / base:.3f}x)"
                    )

    if "tune" in only:
        # compose_negative_weight, tried on the tasks the other compose weights were tuned on
        en, zh, img, pq = photo_and_colour_tasks(attrs, products, rows, a.anchors, a.seed)
        first = sorted(en)[:TUNED]
        set_quality(engine, QualityConfig())
        alone = ndcg(engine, {q: "" for q in first}, pq, img)["ndcg10"]
        res["tune_negative"] = {}
        for g in a.negative_weights:
            set_quality(engine, QualityConfig().with_(compose_negative_weight=g))
            r = ndcg(engine, {q: en[q] for q in first}, pq, img)["ndcg10"]
            res["tune_negative"][str(g)] = r / alone
            print(f"compose_negative_weight {g}: {r:.4f} ({r / alone:.3f}x photo alone, first {TUNED} tasks)")
        res["tune_settings"] = {}
        for spec in a.tune_setting:
            fld, vals = spec.split("=", 1)
            for val in split_values(fld, vals):
                set_quality(engine, QualityConfig().with_(**{fld: setting_value(fld, val)}))
                r = ndcg(engine, {q: en[q] for q in first}, pq, img)["ndcg10"]
                res["tune_settings"][f"{fld}={val}"] = r / alone
                print(f"{fld} {val}: {r:.4f} ({r / alone:.3f}x photo alone, first {TUNED} tasks)", flush=True)
        if a.tune_grid:
            # every combination of the given values, EN and ZH, on the tuning tasks only
            axes = [(f, split_values(f, v)) for f, v in (spec.split("=", 1) for spec in a.tune_grid)]
            res["tune_grid"] = {}
            for combo in itertools.product(*(vals for _, vals in axes)):
                kw = {f: setting_value(f, v) for (f, _), v in zip(axes, combo)}
                set_quality(engine, QualityConfig().with_(**kw))
                got = [ndcg(engine, {q: t[q] for q in first}, pq, img)["ndcg10"] / alone for t in (en, zh)]
                label = " ".join(f"{f}={v}" for (f, _), v in zip(axes, combo))
                res["tune_grid"][label] = got
                print(f"{label}: EN {got[0]:.3f}x ZH {got[1]:.3f}x photo alone (first {TUNED} tasks)", flush=True)
        set_quality(engine, QualityConfig())

    if "price" in only:
        tasks = price_tasks(attrs, products, rows, a.price_anchors, a.seed)
        set_quality(engine, QualityConfig())
        for direction, (texts_en, texts_zh, img, pq) in tasks.items():
            alone = ndcg(engine, {q: "" for q in texts_en}, pq, img)
            res[f"price_{direction}_photo_alone"] = alone
            print(
                f"photo alone, judged for {direction} price: {alone['ndcg10']:.4f} ({len(texts_en)} tasks)", flush=True
            )
            for v, cfg in variants.items():
                set_quality(engine, cfg)
                for lang, texts in (("en", texts_en), ("zh", texts_zh)):
                    r = ndcg(engine, texts, pq, img)
                    r["on_the_right_side"] = price_side(r, img, direction)
                    res[f"price_{direction}_{lang}_{v}"] = r
                    print(
                        f"photo + {next(iter(texts.values()))!r} {v}: {r['ndcg10']:.4f} "
                        f"({r['ndcg10'] / alone['ndcg10']:.3f}x photo alone; "
                        f"{r['on_the_right_side']:.0%} of hits priced {direction})",
                        flush=True,
                    )
            set_quality(engine, QualityConfig())
            alone["on_the_right_side"] = price_side(alone, img, direction)
            print(f"  photo alone: {alone['on_the_right_side']:.0%} of hits priced {direction}")

    if "calibrate" in only:
        # Titles apart from the measured ones: with the threshold off, how often is a title's photo
        # in the top 10 when the query has a title's shape (a type + another attribute) and nothing
        # else vouches for its page (best confidence below min_confidence)? That share is what the
        # shape is worth as evidence (QualityConfig.kind_query_evidence).
        pick = calibration_title_rows(len(rows), a.seed, a.calibration_titles)
        all_titles = np.array([(products[rows[d]].title or "").strip().lower() for d in range(len(rows))])
        base = QualityConfig()
        set_quality(engine, base.with_(min_confidence=0.0, min_hit_confidence=0.0, kind_query_evidence=0.0))
        from shoplens.search.understand import understand

        shaped = weak = weak_found = kept_found = 0
        for i in pick:
            t = products[rows[i]].title
            f = understand(t).fields
            hits = engine.search(t, k=10).hits
            found = any(all_titles[ids.index(h.id)] == t.strip().lower() for h in hits)
            best = max((h.confidence or 0.0 for h in hits), default=0.0)
            if "type" in f and len(f) >= 2:
                shaped += 1
                if best < base.min_confidence:
                    weak += 1
                    weak_found += found
            kept_found += found and best >= base.min_confidence
        worth = weak_found / max(weak, 1)
        res["calibration"] = {
            "titles": len(pick),
            "title_shaped": shaped,
            "shaped_but_weak": weak,
            "weak_found_in_top10": weak_found,
            "kind_query_evidence": worth,
            "R10_without_it": kept_found / len(pick),
        }
        best_nothing = []
        for t in NOTHING_CALIBRATION:
            hits = engine.search(t, k=10).hits
            f = understand(t).fields
            best_nothing.append((t, max((h.confidence or 0.0 for h in hits), default=0.0), "type" in f and len(f) >= 2))
        res["calibration"]["nothing"] = best_nothing
        # how far titles are re-scored by predicted attributes (threshold off, same titles)
        res["calibration"]["coverage_floor_R10"] = {}
        for floor in a.coverage_floors:
            set_quality(
                engine,
                base.with_(min_confidence=0.0, min_hit_confidence=0.0, attribute_coverage_floor=floor),
            )
            found = 0
            for i in pick:
                t = products[rows[i]].title
                found += any(all_titles[ids.index(h.id)] == t.strip().lower() for h in engine.search(t, k=10).hits)
            res["calibration"]["coverage_floor_R10"][str(floor)] = found / len(pick)
            print(f"attribute_coverage_floor {floor}: title R@10 {found / len(pick):.4f} (threshold off)", flush=True)
        print(f"calibration: {res['calibration']}", flush=True)
        set_quality(engine, QualityConfig())

    if "midpoints" in only:
        res["midpoints"] = fit_midpoint(engine, products, rows, ids, queries, qids, a)
        print(f"midpoints: { {k: v for k, v in res['midpoints'].items() if k != 'grid'} }", flush=True)
        set_quality(engine, QualityConfig())

    if "nothing" in only:
        # in-catalog type + word queries from the measured titles' products (none the calibration used)
        cal = partial_queries(products, rows, calibration_titles(rows, a), a.seed)
        partial = {q: v for q, v in partial_queries(products, rows, measured_titles(rows, a), a.seed).items()}
        partial = {q: v for q, v in partial.items() if q not in cal}
        for v, cfg in variants.items():
            set_quality(engine, cfg)
            pr = partial_found(engine, partial, products, rows, list(ids))
            res[f"partial_{v}"] = pr
            print(
                f"type + word queries ({pr['n']}, e.g. {next(iter(partial))!r}), {v}: {pr['kept']:.3f} keep a page, "
                f"{pr['found']:.3f} find the type with the word in the top 10",
                flush=True,
            )
            r = nothing_shares(engine)
            res[f"nothing_empty_{v}"] = r["all"]
            res[f"nothing_{v}"] = r
            res[f"nothing_returned_{v}"] = r["returned"]
            print(
                f"nothing-to-find queries returning no hits, {v}: {r['all']:.3f} of {r['n']} "
                f"(EN words {r['en_words']:.3f} of {r['n_en']}, ZH {r['zh']:.3f} of {r['n_zh']}, "
                f"round 2's 43: {r['round2_43']:.3f}); by kind {r['by_kind']}; returned {r['returned']}",
                flush=True,
            )

    if "demo" in only:
        res["demo"] = demo_check(variants, a.seed)

    if "titled" in only:
        # the same products with their titles and attributes: how many in-catalog pages each setting empties
        titled = titled_engine(products, rows, store_name.replace("photo_only", "titled"))
        reuse_photo_features(titled)
        tpick = measured_titles(rows, a)
        ttitles = [products[rows[i]].title for i in tpick]
        t_all = np.array([(products[rows[d]].title or "").strip().lower() for d in range(len(rows))])
        tids = list(titled.reader.products.ids)
        assert all(tids[d] == products[rows[d]].id for d in range(len(rows)))
        for v, cfg in variants.items():
            set_quality(titled, cfg)
            out: dict = {}
            for lang in ("en", "zh"):
                r = ndcg(titled, {q: queries[lang][q] for q in qids}, qrels)
                out[f"attr_{lang}"], out[f"attr_{lang}_empty"] = r["ndcg10"], r["empty"]
            empty_titles = sum(not titled.search(t, k=10).hits for t in ttitles)
            out["title_R10"] = title_recall(titled, ttitles, t_all, tids)
            out["titles_empty"] = empty_titles
            out["nothing"] = nothing_shares(titled)
            out["e5_only"] = e5_only_pages(titled)
            res[f"titled_{v}"] = out
            print(
                f"titled store, {v}: attributes EN {out['attr_en']:.4f} ({out['attr_en_empty']} of {len(qids)} "
                f"empty), ZH {out['attr_zh']:.4f} ({out['attr_zh_empty']} empty); titles R@10 {out['title_R10']:.3f} "
                f"({empty_titles} of {len(ttitles)} empty); nothing-to-find empty {out['nothing']['all']:.3f} "
                f"(EN words {out['nothing']['en_words']:.3f}, ZH {out['nothing']['zh']:.3f}); "
                f"returned {out['nothing']['returned']}; e5-only queries ({out['e5_only']['n']}): kept "
                f"{out['e5_only']['kept']:.3f}, found {out['e5_only']['found']:.3f}, lost {out['e5_only']['lost']}",
                flush=True,
            )
        titled.close()

    if "latency" in only:
        engine.close()
        res["first_query_ms"] = first_query_latency(Q2 / "photo_only_store", a.latency_repeats)  # shipped heads
        print(f"first query (ms, median): {res['first_query_ms']}", flush=True)

    res["seconds"] = round(time.perf_counter() - t0, 1)
    Q2.mkdir(parents=True, exist_ok=True)
    out = Q2 / f"results_{a.heads}{'_' + a.heads_dir.name if a.heads_dir else ''}.json"
    old = json.loads(out.read_text()) if out.is_file() else {}
    for v in res.values():
        if isinstance(v, dict):
            v.pop("ids", None)
    out.write_text(json.dumps({**old, **res}, indent=2, ensure_ascii=False))
    print(f"results: {out} ({res['seconds']}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
