"""Traditional-Chinese queries vs the same queries in Simplified Chinese, on one store, one run.

Chinese attribute queries ("男士黑色围巾") with graded judgments are generated from the catalog's
own attributes (`shoplens.evaluate.judgments.from_attributes`), converted to Traditional with
OpenCC (s2t: "男士黑色圍巾"), and both sets are searched on the same store and scored with
`shoplens.evaluate`. The claim checked: Traditional queries rank as well as Simplified ones
(ratio ~1.0), because query understanding and BM25 read Traditional as Simplified.

    .venv/bin/python benchmarks/bench_traditional.py                    # bundled demo catalog (320 products)
    .venv/bin/python benchmarks/bench_traditional.py --catalog ../shared/data/fashion/catalog.csv --products 1500
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shoplens.catalog import load_catalog  # noqa: E402
from shoplens.config import BuildConfig  # noqa: E402
from shoplens.engine import Engine  # noqa: E402
from shoplens.evaluate.judgments import from_attributes  # noqa: E402
from shoplens.evaluate.metrics import evaluate  # noqa: E402
from shoplens.evaluate.trec import run_from_hits  # noqa: E402

METRICS = ("ndcg@10", "map", "mrr", "p@10")


def score(engine: Engine, queries: list[dict], qrels) -> dict[str, float]:
    results = engine.search_batch([{"text": q["text"]} for q in queries], k=100)
    run, _ = run_from_hits([(q["qid"], [(h.id, h.score) for h in r.hits]) for q, r in zip(queries, results)])
    return evaluate(run, qrels, METRICS).metrics


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, default=ROOT / "shoplens" / "data" / "demo" / "catalog.csv")
    ap.add_argument("--products", type=int, default=None, help="first N products of the catalog")
    ap.add_argument("--store", type=Path, default=None, help="default benchmarks/out/stores/traditional-<catalog>")
    ap.add_argument("--queries", type=int, default=100, help="attribute combinations (one Chinese query each)")
    ap.add_argument("--min-relevant", type=int, default=2)
    args = ap.parse_args()

    import opencc

    catalog = args.catalog
    if args.products:  # the first N rows, image paths made absolute so the subset can live elsewhere
        with open(catalog, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            rows = [r for _, r in zip(range(args.products), reader)]
            fields = reader.fieldnames or []
        catalog = ROOT / "benchmarks" / "out" / f"{args.catalog.stem}-{args.products}.csv"
        catalog.parent.mkdir(parents=True, exist_ok=True)
        with open(catalog, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in rows:
                if r.get("image"):
                    r["image"] = str((args.catalog.parent / r["image"]).resolve())
                w.writerow(r)
    products, _ = load_catalog(catalog)
    store = args.store or ROOT / "benchmarks" / "out" / "stores" / f"traditional-{catalog.stem}"
    if not (store / "CURRENT").is_file():
        Engine.build(catalog, store, build=BuildConfig(progress=False, auto_align=False)).close()
    queries, judgments = from_attributes(
        products, ("gender", "baseColour"), "title", ("zh",), args.queries, 0, args.min_relevant
    )
    s2t = opencc.OpenCC("s2t")
    traditional = [{**q, "text": s2t.convert(q["text"])} for q in queries]
    changed = sum(t["text"] != q["text"] for t, q in zip(traditional, queries))
    with Engine.open(store) as engine:
        simp = score(engine, queries, judgments.qrels)
        trad = score(engine, traditional, judgments.qrels)
    print(f"{len(queries)} Chinese attribute queries ({changed} written differently in Traditional), {store}")
    print(f"  e.g. {queries[0]['text']} -> {traditional[0]['text']}")
    print(f"{'metric':<10}{'Simplified':>12}{'Traditional':>13}{'ratio':>8}")
    for m in METRICS:
        ratio = trad[m] / simp[m] if simp[m] else float("nan")
        print(f"{m:<10}{simp[m]:>12.4f}{trad[m]:>13.4f}{ratio:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
