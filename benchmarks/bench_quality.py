"""Search quality against the issue's two targets, on the shared fashion catalog.

(a) Attribute text queries ("men black shoes", "blue jeans for women"): NDCG@10 of
    hybrid `engine.search(text)` (titles + images + attributes) vs. Okapi BM25
    (k1=1.2, b=0.75) over lower-cased title words, computed in the same run.
    Graded: same type+gender+colour = 2, same type+gender = 1 (type from the title
    via shoplens.preprocess.lexicon.product_type). Target: hybrid >= 1.10x BM25.
    Also: each component alone, fusion-weight variants (`weights=`), Chinese queries.
(b) Augmented product photos (random crop 80-95% area, resize, rotate +-10 deg with
    white fill, brightness/contrast/saturation +-15%, JPEG q60-85, all seeded):
    rank-1 rate of the source product with `engine.search(image=bytes)`, for the full
    chain and for each augmentation alone. Target: >= 0.90. Also: image part
    weights ([index.image_part_weights] in shoplens.toml) re-scored offline from cached features.

Rerun (full catalog, store reused from benchmarks/out/stores/fashion_full):
    .venv/bin/python benchmarks/bench_quality.py
Small / quick:
    .venv/bin/python benchmarks/bench_quality.py --products 500 --queries 60 --image-queries 100
Writes benchmarks/out/bench_quality.json (or bench_quality_<N>.json with --products N).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance
from tqdm.auto import tqdm

from shoplens.config import SearchConfig  # noqa: E402  (labels the default fusion weights)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

COMPONENTS = ("bm25", "text_dense:e5", "text_dense:use", "text_to_image", "attributes")
AUG_KINDS = ("crop", "resize", "rotate", "jitter", "jpeg")
GENDER_EN = {"Men": "men", "Women": "women", "Boys": "boys", "Girls": "girls", "Unisex": "unisex"}

# Fusion-weight variants tried for (a); each is merged over SearchConfig.weights.
WEIGHT_VARIANTS: dict[str, dict[str, float]] = {
    "default": {},
    "attributes=1.0": {"attributes": 1.0},
    "attributes=2.0": {"attributes": 2.0},
    "text_to_image=2.0": {"text_to_image": 2.0},
    "use=1.0": {"text_dense:use": 1.0},
    "bm25=0.5": {"bm25": 0.5},
    "no text_to_image": {"text_to_image": 0.0},
    "no bm25": {"bm25": 0.0},
    "attr=2,t2i=1.5,bm25=0.5": {"attributes": 2.0, "text_to_image": 1.5, "bm25": 0.5},
}
# Fusion-weight variants tried for (b) on the same augmented photos ("all" chain).
IMAGE_WEIGHT_VARIANTS: dict[str, dict[str, float]] = {
    "image_to_text=0.25": {"image_to_text": 0.25},
    "image_to_text=0.1": {"image_to_text": 0.1},
    "image_to_text=0 (image only)": {"image_to_text": 0.0},
    "image=2.0": {"image": 2.0},
}
# Image part weights (IndexConfig.image_part_weights) re-scored offline for (b).
PART_VARIANTS: dict[str, dict[str, float]] = {
    "default (mnv2 1, effnet 1, colour 0.5)": {},
    "colour 0.25": {"colour": 0.25},
    "colour 0": {"colour": 0.0},
    "colour 0.75": {"colour": 0.75},
    "mnv2 only": {"efficientnet_lite0": 0.0, "colour": 0.0},
    "effnet only": {"mobilenet_v2": 0.0, "colour": 0.0},
}


# ---------------------------------------------------------------------------- (a) text


def annotate(rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Rows with a `_type` key (lexicon product type of the title)."""
    out = []
    for r in rows:
        r = dict(r)
        r["_type"] = C.lexicon_type(r.get("productDisplayName")) or ""
        out.append(r)
    return out


def make_queries(rows: Sequence[dict[str, str]], n: int, seed: int = 0, min_exact: int = 2) -> list[dict[str, Any]]:
    """Attribute queries from (type, gender, colour) combos with >= min_exact grade-2 products.

    Half "men black shoes" wording, half "blue jeans for women"; each also gets a Chinese wording."""
    from shoplens.preprocess.lexicon import wording

    combos = Counter(
        (r["_type"], r.get("gender", ""), r.get("baseColour", ""))
        for r in rows
        if r["_type"] and r.get("gender") in GENDER_EN and r.get("baseColour")
    )
    eligible = sorted(c for c, k in combos.items() if k >= min_exact)
    rng = np.random.default_rng(seed)
    pick = [eligible[i] for i in rng.permutation(len(eligible))[:n]]
    queries = []
    for i, (t, g, c) in enumerate(pick):
        tw, cw = wording("type", t, "en"), wording("colour", c, "en")
        text = f"{GENDER_EN[g]} {cw} {tw}" if i % 2 == 0 else f"{cw} {tw} for {GENDER_EN[g]}"
        zh = f"{wording('gender', g, 'zh')} {wording('colour', c, 'zh')} {wording('type', t, 'zh')}"
        queries.append(
            {
                "qid": f"q{i:03d}",
                "text": text,
                "zh": zh,
                "attrs": {"type": t, "gender": g, "colour": c},
                "exact": combos[(t, g, c)],
            }
        )
    return queries


def qrels_for(queries: Sequence[dict[str, Any]], rows: Sequence[dict[str, str]]) -> dict[str, dict[str, int]]:
    out = {}
    for q in queries:
        a = q["attrs"]
        out[q["qid"]] = {
            r["id"]: (2 if r.get("baseColour") == a["colour"] else 1)
            for r in rows
            if r["_type"] == a["type"] and r.get("gender") == a["gender"]
        }
    return out


def bm25_titles_runs(
    rows: Sequence[dict[str, str]], queries: Sequence[dict[str, Any]], k: int = 10
) -> dict[str, list[str]]:
    bm = C.OkapiBM25([r.get("productDisplayName") or "" for r in rows])
    return {q["qid"]: [rows[i]["id"] for i in bm.top(q["text"], k)] for q in queries}


def engine_runs(
    engine,
    queries: Sequence[dict[str, Any]],
    weights: dict[str, float] | None = None,
    field: str = "text",
    k: int = 10,
    desc: str | None = None,
) -> dict[str, list[str]]:
    runs = {}
    for q in tqdm(queries, desc=desc or "hybrid", unit="q", leave=False, disable=desc is None):
        runs[q["qid"]] = engine.search(text=q[field], k=k, weights=weights).ids
    return runs


def only(component: str) -> dict[str, float]:
    """Every weight the configuration knows at 0 but `component`'s: later components (photo text, reviews,
    videos) would otherwise keep their default weights and join the one measured "alone"."""
    return {c: (1.0 if c == component else 0.0) for c in {*COMPONENTS, *SearchConfig().weights}}


def text_quality(
    engine,
    rows,
    queries,
    *,
    variants: dict[str, dict[str, float]] | None = None,
    components: bool = True,
    chinese: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    qrels = qrels_for(queries, rows)
    res: dict[str, Any] = {"queries": len(queries)}
    ref, ref_pq, impl = C.mean_ndcg(bm25_titles_runs(rows, queries), qrels)
    hyb_runs = engine_runs(engine, queries, desc="hybrid (en)" if progress else None)
    hyb, hyb_pq, _ = C.mean_ndcg(hyb_runs, qrels)
    res.update(ndcg_impl=impl, bm25_titles=ref, hybrid=hyb, ratio=hyb / ref if ref else float("inf"))
    res["per_query"] = {
        q["qid"]: {
            "text": q["text"],
            "exact": q["exact"],
            "bm25_titles": ref_pq.get(q["qid"]),
            "hybrid": hyb_pq.get(q["qid"]),
        }
        for q in queries
    }
    if chinese:
        zh, zh_pq, _ = C.mean_ndcg(
            engine_runs(engine, queries, field="zh", desc="hybrid (zh)" if progress else None), qrels
        )
        res["hybrid_zh"] = zh
        for q in queries:
            res["per_query"][q["qid"]].update(zh=q["zh"], hybrid_zh=zh_pq.get(q["qid"]))
    if components:
        res["components"] = {}
        for comp in COMPONENTS:
            if comp == "attributes":  # re-ranks the other components' pool; not a retriever alone
                continue
            v, pq, _ = C.mean_ndcg(
                engine_runs(engine, queries, only(comp), desc=f"only {comp}" if progress else None), qrels
            )
            res["components"][comp] = v
            for q in queries:
                res["per_query"][q["qid"]][comp] = pq.get(q["qid"])
    if variants:
        res["weights"] = {}
        for name, w in variants.items():
            if not w:
                res["weights"][name] = hyb
                continue
            v, _, _ = C.mean_ndcg(engine_runs(engine, queries, w, desc=f"weights {name}" if progress else None), qrels)
            res["weights"][name] = v
    return res


# ---------------------------------------------------------------------------- (b) images


def _crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    area = rng.uniform(0.80, 0.95) * w * h
    ratio = np.exp(rng.uniform(np.log(0.9), np.log(1.1)))
    cw = int(round(min(w, np.sqrt(area * ratio))))
    ch = int(round(min(h, area / cw)))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def _resize(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    s = rng.uniform(0.6, 1.6)
    return img.resize((max(16, int(img.width * s)), max(16, int(img.height * s))), Image.Resampling.BICUBIC)


def _rotate(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.rotate(
        float(rng.uniform(-10, 10)), resample=Image.Resampling.BILINEAR, expand=False, fillcolor=(255, 255, 255)
    )


def _jitter(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    for enh in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enh(img).enhance(float(rng.uniform(0.85, 1.15)))
    return img


OPS = {"crop": _crop, "resize": _resize, "rotate": _rotate, "jitter": _jitter}


def augment(img: Image.Image, kinds: Sequence[str], rng: np.random.Generator) -> bytes:
    """Apply the named augmentations in a fixed order; JPEG at q60-85 if 'jpeg' is named, else lossless PNG."""
    img = img.convert("RGB")
    for k in ("crop", "rotate", "resize", "jitter"):
        if k in kinds:
            img = OPS[k](img, rng)
    buf = io.BytesIO()
    if "jpeg" in kinds:
        img.save(buf, format="JPEG", quality=int(rng.integers(60, 86)))
    else:
        img.save(buf, format="PNG")
    return buf.getvalue()


def image_path(row: dict[str, str]) -> Path:
    p = Path(row["image"])
    return p if p.is_absolute() else C.FASHION / p


def image_quality(
    engine,
    rows: Sequence[dict[str, str]],
    n: int,
    seed: int = 0,
    *,
    kinds: Sequence[str] = ("all", *AUG_KINDS),
    progress: bool = True,
    keep_feats: bool = False,
) -> dict[str, Any]:
    """Rank-1 rate per augmentation setting ('all' = the full chain) on n seeded products."""
    rng = np.random.default_rng(seed)
    with_img = [r for r in rows if r.get("image") and image_path(r).is_file()]
    sample = [with_img[i] for i in rng.permutation(len(with_img))[:n]]
    sha = {}
    for r in with_img:  # identical photos under other ids (catalog duplicates)
        sha.setdefault(hashlib.sha1(image_path(r).read_bytes()).hexdigest(), []).append(r["id"])
    dup_of = {i: set(v) for v in sha.values() if len(v) > 1 for i in v}
    stats: dict[str, dict[str, Any]] = {}
    misses: list[dict[str, Any]] = []
    feats: dict[str, list] = defaultdict(list)
    for kind in kinds:
        ops = AUG_KINDS if kind == "all" else (kind,)
        r1 = r1_dup = r5 = 0
        krng = np.random.default_rng([seed, AUG_KINDS.index(kind) + 1 if kind in AUG_KINDS else 0])
        for r in tqdm(sample, desc=f"image [{kind}]", unit="q", leave=False, disable=not progress):
            data = augment(Image.open(image_path(r)), ops, krng)
            res = engine.search(image=data, k=10)
            ids = res.ids
            hit1 = bool(ids) and ids[0] == r["id"]
            r1 += hit1
            r1_dup += hit1 or (bool(ids) and ids[0] in dup_of.get(r["id"], ()))
            r5 += r["id"] in ids[:5]
            if keep_feats:
                feats[kind].append((r["id"], data))
            if not hit1 and kind == "all" and len(misses) < 50:
                top = res.hits[0] if res.hits else None
                misses.append(
                    {
                        "id": r["id"],
                        "title": r.get("productDisplayName"),
                        "rank": ids.index(r["id"]) + 1 if r["id"] in ids else None,
                        "top1": top.id if top else None,
                        "top1_title": top.title if top else None,
                        "top1_components": {k: v.rank for k, v in top.components.items()} if top else None,
                    }
                )
        stats[kind] = {
            "n": len(sample),
            "rank1": r1 / max(len(sample), 1),
            "rank1_or_identical_photo": r1_dup / max(len(sample), 1),
            "hits@5": r5 / max(len(sample), 1),
        }
    out: dict[str, Any] = {
        "per_augmentation": stats,
        "misses_all": misses,
        "products_with_duplicate_photo": len(dup_of),
    }
    if keep_feats:
        out["_queries"] = feats
    return out


def image_weight_study(
    engine, items: list, variants: dict[str, dict[str, float]], progress: bool = True
) -> dict[str, float]:
    """Rank-1 of the same augmented queries under other fusion weights (engine.search(weights=))."""
    out = {}
    for name, w in variants.items():
        hits = 0
        for pid, data in tqdm(items, desc=f"image weights {name}", leave=False, disable=not progress):
            ids = engine.search(image=data, k=1, weights=w).ids
            hits += bool(ids) and ids[0] == pid
        out[name] = hits / max(len(items), 1)
    return out


def part_weight_study(
    engine, queries: dict[str, list], variants: dict[str, dict[str, float]], progress: bool = True
) -> dict[str, dict[str, float]]:
    """Rank-1 per image-part weighting, scored exactly in numpy from the store's cached per-encoder features
    (what a rebuild with other [index.image_part_weights] would index)."""
    from shoplens.features.cache import FeatureCache, file_key
    from shoplens.features.combine import combine_image

    table = engine.reader.products
    prods = table.all_products()
    paths = [p.images[0] if p.images else None for p in prods]
    ids = np.array([p.id for p in prods])
    keep = np.array([pth is not None for pth in paths])
    keys = [file_key(pth) for pth in paths if pth is not None]
    cache = FeatureCache(engine.store / "cache" / "features.sqlite")
    enc = engine.encoders.image
    docs = {}
    try:
        for name, e in enc.items():
            got = cache.get_many(e.fingerprint(), keys)
            docs[name] = np.stack([got[k] for k in keys])
    finally:
        cache.close()
    ids = ids[keep]
    qf: dict[str, dict[str, list]] = {}
    for kind, items in queries.items():
        qf[kind] = defaultdict(list)
        for pid, data in tqdm(items, desc=f"part feats [{kind}]", leave=False, disable=not progress):
            f = engine.searcher.qenc.image_feats(data)
            qf[kind]["id"].append(pid)
            for n, v in f.items():
                qf[kind][n].append(v)
    out: dict[str, dict[str, float]] = {}
    for vname, w in variants.items():
        dmat = combine_image(docs, w)
        out[vname] = {}
        for kind, f in qf.items():
            qmat = combine_image({n: np.stack(f[n]) for n in docs}, w)
            top = np.argmax(qmat @ dmat.T, axis=1)
            out[vname][kind] = float(np.mean(ids[top] == np.array(f["id"])))
    return out


# ---------------------------------------------------------------------------- main


def reference_only(a: argparse.Namespace) -> dict[str, Any]:
    _, rows = C.fashion_catalog(a.products if a.products and a.products < 7710 else None, a.seed)
    rows = annotate(rows)
    queries = make_queries(rows, a.queries, a.seed)
    ref, _, impl = C.mean_ndcg(bm25_titles_runs(rows, queries), qrels_for(queries, rows))
    result = {"products": len(rows), "queries": len(queries), "bm25_titles": ref, "ndcg_impl": impl}
    print(
        f"BM25 over titles (bm25s, Okapi k1=1.2 b=0.75), {len(queries)} queries, {len(rows)} products: "
        f"NDCG@10 {ref:.4f} (ndcg via {impl})"
    )
    print(f"json: {C.write_json('bench_quality_reference', result)}", file=sys.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=None, help="subset size (default: all 7,710)")
    ap.add_argument("--queries", type=int, default=150, help="attribute text queries")
    ap.add_argument("--image-queries", type=int, default=300, help="products queried per augmentation setting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", type=Path, default=None, help="store dir (default benchmarks/out/stores/...)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--no-align", action="store_true", help="build without training heads on the store")
    ap.add_argument("--skip-text", action="store_true")
    ap.add_argument("--skip-image", action="store_true")
    ap.add_argument("--no-variants", action="store_true", help="skip component / weight / part-weight studies")
    ap.add_argument(
        "--reference-only",
        action="store_true",
        help="only the BM25-over-titles reference NDCG (no store, no models): checks the README's reference",
    )
    a = ap.parse_args(argv)
    if a.reference_only:
        return reference_only(a)

    C.ensure_onnx()
    n = a.products if a.products and a.products < 7710 else None
    cat, rows = C.fashion_catalog(n, a.seed)
    store = a.store or C.STORES / (f"fashion_{n}_s{a.seed}" if n else "fashion_full")
    print(f"catalog {cat} ({len(rows)} products), store {store}", file=sys.stderr)
    engine, build_s, info = C.open_or_build(cat, store, rebuild=a.rebuild, align=not a.no_align)
    rows = annotate(rows)
    engine.search(text="warm up", k=1)  # lazy model loads are not part of quality
    result: dict[str, Any] = {
        "products": len(rows),
        "store": str(store),
        "build_s": build_s,
        "build": info,
        "heads": (engine.manifest.heads or {}).get("source"),
        "seed": a.seed,
    }
    name = "bench_quality" + (f"_{n}" if n else "")
    t0 = time.perf_counter()
    if not a.skip_text:
        queries = make_queries(rows, a.queries, a.seed)
        result["text"] = text_quality(
            engine, rows, queries, variants=None if a.no_variants else WEIGHT_VARIANTS, components=not a.no_variants
        )
        t = result["text"]
        print("\n### (a) attribute text queries: NDCG@10 (graded 2/1/0)\n")
        rows_md = [
            ["BM25 over titles (Okapi k1=1.2 b=0.75)", t["bm25_titles"], 1.0],
            ["hybrid engine.search(text) [default weights]", t["hybrid"], t["ratio"]],
        ]
        if "hybrid_zh" in t:
            rows_md.append(["hybrid, same queries in Chinese", t["hybrid_zh"], t["hybrid_zh"] / t["bm25_titles"]])
        for comp, v in (t.get("components") or {}).items():
            rows_md.append([f"only {comp}", v, v / t["bm25_titles"]])
        for vname, v in (t.get("weights") or {}).items():
            if vname != "default":
                rows_md.append([f"hybrid, weights {vname}", v, v / t["bm25_titles"]])
        print(C.md_table(["system", "NDCG@10", "× BM25-titles"], rows_md))
        ok = t["ratio"] >= 1.10
        print(
            f"\n{t['queries']} queries; target hybrid >= 1.10x BM25-titles: "
            f"{'PASS' if ok else 'FAIL'} ({t['ratio']:.3f}x); ndcg via {t['ndcg_impl']}"
        )
        result["text_pass"] = ok
    if not a.skip_image:
        im = image_quality(engine, rows, a.image_queries, a.seed, keep_feats=not a.no_variants)
        qs = im.pop("_queries", None)
        result["image"] = im
        print("\n### (b) augmented photo -> own product at rank 1\n")
        print(
            C.md_table(
                ["augmentation", "queries", "rank-1", "rank-1 or identical photo", "hits@5"],
                [
                    [k, v["n"], v["rank1"], v["rank1_or_identical_photo"], v["hits@5"]]
                    for k, v in im["per_augmentation"].items()
                ],
            )
        )
        r1 = im["per_augmentation"]["all"]["rank1"]
        result["image_pass"] = r1 >= 0.90
        print(f"\ntarget rank-1 >= 0.90 on the full chain: {'PASS' if r1 >= 0.9 else 'FAIL'} ({r1:.3f})")
        if qs:
            iw = image_weight_study(engine, qs["all"], IMAGE_WEIGHT_VARIANTS)
            result["image_weights"] = {"default": r1, **iw}
            print("\n### (b) fusion weights for image queries (same augmented photos, full chain)\n")
            print(
                C.md_table(
                    ["weights", "rank-1"],
                    [
                        [
                            f"default (image {SearchConfig().weights['image']}, image_to_text {SearchConfig().weights['image_to_text']})",  # noqa: E501
                            r1,
                        ],
                        *[[k, v] for k, v in iw.items()],
                    ],
                )
            )
            sub = {k: qs[k] for k in ("all", "jitter", "crop") if k in qs}
            ps = part_weight_study(engine, sub, PART_VARIANTS)
            result["image_part_weights"] = ps
            print("\n### image part weights (offline, exact cosine over cached features; rank-1)\n")
            kinds = list(sub)
            print(C.md_table(["image_part_weights", *kinds], [[v, *(ps[v][k] for k in kinds)] for v in ps]))
    result["eval_s"] = time.perf_counter() - t0
    path = C.write_json(name, result)
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    C.show_logs()
    main()
