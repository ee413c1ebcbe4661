"""What each extra modality costs to index and adds to search, on products that lack titles or photos.

For every modality (video, reviews; OCR can add its row to MODALITIES) a share of the products is
degraded, and the same catalog is indexed twice, with and without that modality:

- video: the degraded products lose title, photo and attributes; "with" gives each a 3 s video
  made from its own photo (PyAV, slow zoom), so only the video can find it;
- reviews: the degraded products get a bland title ("Item 12345") and lose photo and attributes;
  "with" adds two reviews. The shared data has no fashion reviews, so these are TEMPLATED from the
  product's own catalog columns (colour, type from its old title, gender, usage) plus one generic
  real-sounding line, with ratings; they show what the review component does with reviews that
  say what a product is, not how real shoppers write.

Queries and graded judgments come from the intact catalog's attributes
(`shoplens.evaluate.judgments.from_attributes`: "women blue tshirts", grade 2 = all match), so a
degraded product stays relevant to the queries it answers. NDCG@10 is measured through
`Engine.search_batch`; cost is the modality's own encoding time in the "with" build (titles and
photos come from the feature cache of the "without" build, so what remains is the modality),
as items/s and as a share of a cold build of the same catalog without it.

The alignment heads are the shipped defaults, which were trained on all 7,710 shared fashion
photos and titles (video frames are made from those photos): text->video figures are optimistic.

    .venv/bin/python benchmarks/bench_modalities.py --products 400 --share 0.3
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shoplens.catalog import load_catalog  # noqa: E402
from shoplens.config import BuildConfig  # noqa: E402
from shoplens.engine import Engine  # noqa: E402
from shoplens.evaluate.judgments import from_attributes  # noqa: E402
from shoplens.evaluate.metrics import evaluate  # noqa: E402
from shoplens.evaluate.trec import run_from_hits  # noqa: E402
from shoplens.preprocess.lexicon import default_lexicon  # noqa: E402
from shoplens.preprocess.video import write_slideshow  # noqa: E402

FASHION = ROOT.parent / "shared" / "data" / "fashion"
GENERIC = ["Arrived quickly and well packed.", "Fits as expected, would buy again.", "Good value for the price."]


def full_record(r: dict) -> dict:
    return {
        "id": r["id"],
        "title": r["productDisplayName"],
        "image": str(FASHION / r["image"]),
        **{k: r[k] for k in ("gender", "masterCategory", "subCategory", "baseColour", "season", "usage") if r.get(k)},
    }


def video_records(rows: list[dict], degraded: set[str], out: Path) -> tuple[list[dict], list[dict]]:
    without, with_ = [], []
    for r in rows:
        if r["id"] in degraded:
            clip = out / "videos" / f"{r['id']}.mp4"
            if not clip.is_file():
                clip.parent.mkdir(parents=True, exist_ok=True)
                write_slideshow(clip, [FASHION / r["image"]], seconds_each=3.0, fps=10)
            without.append({"id": r["id"]})
            with_.append({"id": r["id"], "video": str(clip)})
        else:
            without.append(full_record(r))
            with_.append(full_record(r))
    return without, with_


def review_records(rows: list[dict], degraded: set[str], out: Path) -> tuple[list[dict], list[dict]]:
    lex = default_lexicon()
    rnd = random.Random(0)
    without, with_ = [], []
    for r in rows:
        rec = full_record(r)
        if r["id"] in degraded:
            kind = lex.product_type(r["productDisplayName"]) or r.get("subCategory", "item")
            who = {"Men": "husband", "Women": "wife", "Boys": "son", "Girls": "daughter"}.get(r["gender"], "family")
            text = f"Bought this {r['baseColour'].lower()} {kind} for my {who}, great for {r['usage'].lower()} wear."
            reviews = [{"text": text, "rating": rnd.choice([4, 5])}, {"text": rnd.choice(GENERIC), "rating": 3}]
            rec = {"id": r["id"], "title": f"Item {r['id']}"}
            without.append(rec)
            with_.append({**rec, "reviews": reviews})
        else:
            without.append(rec)
            with_.append(rec)
    return without, with_


@dataclass
class Modality:
    make: Callable[[list[dict], set[str], Path], tuple[list[dict], list[dict]]]
    items: str  # the manifest ingest count of what was encoded
    timing: str  # the FeatureSet timing of its encoding
    unit: str


MODALITIES: dict[str, Modality] = {
    "video": Modality(video_records, "video_frames", "videos", "frames"),
    "reviews": Modality(review_records, "reviews", "reviews", "reviews"),
}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def ndcg(store: Path, queries: list[dict], qrels, degraded_qrels) -> tuple[float, float]:
    """NDCG@10 against all judgments, and against the degraded products' judgments only (can the
    products that lack a title or photo be found at all, among their own kind)."""
    with Engine.open(store, overrides={"quality.warm_up": False}) as engine:
        results = engine.search_batch([{"text": q["text"]} for q in queries], k=100)
    run, _ = run_from_hits([(q["qid"], [(h.id, h.score) for h in r.hits]) for q, r in zip(queries, results)])
    return (
        evaluate(run, qrels, ("ndcg@10",)).metrics["ndcg@10"],
        evaluate(run, degraded_qrels, ("ndcg@10",)).metrics["ndcg@10"],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=400)
    ap.add_argument("--offset", type=int, default=2000, help="first catalog row used")
    ap.add_argument("--share", type=float, default=0.3, help="share of products degraded")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--modalities", default=",".join(MODALITIES))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "modalities")
    ap.add_argument(
        "--reuse", action="store_true", help="search the stores an earlier run built (costs as it measured)"
    )
    args = ap.parse_args()

    with open(FASHION / "catalog.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[args.offset : args.offset + args.products]
    degraded = {r["id"] for r in random.Random(1).sample(rows, int(len(rows) * args.share))}
    full, _ = load_catalog(write_jsonl(args.out / "full.jsonl", [full_record(r) for r in rows]))
    queries, judgments = from_attributes(full, ("gender", "baseColour"), "title", ("en",), args.queries, 0, 2)
    # the same queries judged on the degraded products alone (the others' grades dropped)
    degraded_qrels = {
        qid: {d: g for d, g in rels.items() if d in degraded}
        for qid, rels in judgments.qrels.items()
        if any(d in degraded and g > 0 for d, g in rels.items())
    }
    touched = len(degraded_qrels)
    print(
        f"{len(rows)} products ({len(degraded)} degraded), {len(queries)} attribute queries "
        f"({touched} with a degraded product among their judged ones)"
    )
    print(
        f"{'modality':<10}{'items':>7}{'cost s':>8}{'items/s':>9}{'% of cold build':>17}"
        f"{'NDCG@10 without':>17}{'with':>7}{'ratio':>7}{'degraded: without':>19}{'with':>7}"
    )
    build = BuildConfig(progress=False, auto_align=False)
    for name in args.modalities.split(","):
        mod = MODALITIES[name]
        d = args.out / name
        if args.reuse and (d / "cost.json").is_file():  # the stores of an earlier run: search only
            items, cost, cold = json.loads((d / "cost.json").read_text())
        else:
            shutil.rmtree(d / "without", ignore_errors=True)
            shutil.rmtree(d / "with", ignore_errors=True)
            without, with_ = mod.make(rows, degraded, args.out)
            t = time.perf_counter()
            Engine.build(write_jsonl(d / "without.jsonl", without), d / "without", build=build).close()
            cold = time.perf_counter() - t
            (d / "with").mkdir(parents=True)
            shutil.copytree(d / "without" / "cache", d / "with" / "cache")  # titles and photos: cache hits
            with Engine.build(write_jsonl(d / "with.jsonl", with_), d / "with", build=build) as e:
                items = int(e.manifest.ingest.get(mod.items, 0))
                cost = float(e.manifest.timings_s.get(mod.timing, 0.0))
            (d / "cost.json").write_text(json.dumps([items, cost, cold]))
        (n0, g0), (n1, g1) = (ndcg(d / s, queries, judgments.qrels, degraded_qrels) for s in ("without", "with"))
        print(
            f"{name:<10}{items:>7}{cost:>8.1f}{items / max(cost, 1e-9):>9.1f}{100 * cost / cold:>16.0f}%"
            f"{n0:>17.3f}{n1:>7.3f}{n1 / max(n0, 1e-9):>7.2f}{g0:>19.3f}{g1:>7.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
