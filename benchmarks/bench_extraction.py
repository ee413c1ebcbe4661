"""Attribute extraction from titles, scored against the shared fashion catalog's own columns.

Rules are learned (shoplens.preprocess.attributes.learn) on one part of the catalog and scored on
the held-out rest (split by product id), titles only as input. Precision = right / extracted,
recall = right / products that have the column. The baseline, from the same run: the shipped
query lexicon alone (its gender/colour/usage/season words, read straight into the columns the
store's field map gives them; it has no rule for subCategory/masterCategory).

    .venv/bin/python benchmarks/bench_extraction.py                      # catalog.csv + styles_text_only.csv
    .venv/bin/python benchmarks/bench_extraction.py --limit 10000        # a quicker subset
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
from collections import Counter

from common import ATTR_COLS, CATALOG, TEXT_ONLY, md_table, write_json

from shoplens.preprocess.attributes import extract, learn
from shoplens.preprocess.field_map import infer_field_map
from shoplens.preprocess.lexicon import default_lexicon

# what the issue calls colour / type / gender, in this catalog's columns
NAMES = {"baseColour": "colour", "subCategory": "type", "gender": "gender", "masterCategory": "category"}


def rows_of(limit: int | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for path in (CATALOG, TEXT_ONLY):
        with open(path, encoding="utf-8") as f:
            out += [r for r in csv.DictReader(f) if r.get("productDisplayName")]
    seen: set[str] = set()
    uniq = [r for r in out if not (r["id"] in seen or seen.add(r["id"]))]  # type: ignore[func-returns-value]
    return uniq[:limit] if limit else uniq


def held_out(pid: str, share: float) -> bool:
    return int(hashlib.sha1(pid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def score(pred: list[dict[str, str]], gold: list[dict[str, str]], cols) -> dict[str, dict[str, float]]:
    out = {}
    for c in cols:
        emitted = right = have = 0
        for p, g in zip(pred, gold):
            have += bool(g.get(c))
            if c in p:
                emitted += 1
                right += p[c] == g.get(c)
        out[c] = {
            "precision": right / emitted if emitted else 0.0,
            "recall": right / have if have else 0.0,
            "extracted": emitted,
            "products": have,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, help="use the first N products of catalog.csv + styles_text_only.csv")
    ap.add_argument("--test-share", type=float, default=0.2)
    ap.add_argument("--min-precision", type=float, default=0.9, help="a learned rule's precision on the train part")
    ap.add_argument("--min-support", type=int, default=3)
    args = ap.parse_args()
    rows = rows_of(args.limit)
    test = [r for r in rows if held_out(r["id"], args.test_share)]
    train = [r for r in rows if not held_out(r["id"], args.test_share)]
    attrs = lambda r: {c: r[c] for c in ATTR_COLS if r.get(c)}  # noqa: E731
    lex = default_lexicon()
    field_map = infer_field_map({c: {r[c] for r in train if r.get(c)} for c in ATTR_COLS}, lex=lex)
    t0 = time.perf_counter()
    model = learn(
        [r["productDisplayName"] for r in train],
        [attrs(r) for r in train],
        field_map=field_map,
        lex=lex,
        columns=ATTR_COLS,
        min_precision=args.min_precision,
        min_support=args.min_support,
    )
    t_learn = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = []
    brands = Counter()
    for r in test:
        got = extract([("title", r["productDisplayName"])], model, lex=lex)
        pred.append({e.field: e.value for e in got.values()})
        brands["brand" in got] += 1
    t_extract = time.perf_counter() - t0
    # baseline: the shipped lexicon's words straight into the mapped columns
    base = []
    col_of = {f: c for f, c in field_map.items() if c in ATTR_COLS}
    for r in test:
        d: dict[str, str] = {}
        for m in lex.parse(r["productDisplayName"]):
            if m.field in col_of and col_of[m.field] not in d:
                d[col_of[m.field]] = m.value
        base.append(d)
    gold = [attrs(r) for r in test]
    learned, lexicon_only = score(pred, gold, ATTR_COLS), score(base, gold, ATTR_COLS)
    table = []
    for c in ATTR_COLS:
        s, b = learned[c], lexicon_only[c]
        table.append(
            [
                f"{NAMES.get(c, c)} ({c})",
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{b['precision']:.3f}" if b["extracted"] else "-",
                f"{b['recall']:.3f}",
            ]
        )
    print(
        f"{len(train)} products to learn from, {len(test)} held out; rules {model.describe()}; "
        f"learn {t_learn:.1f} s, extract {len(test) / t_extract:.0f} titles/s; "
        f"brand found in {brands[True] / len(test):.1%} of held-out titles"
    )
    print(
        md_table(["attribute (column)", "precision", "recall", "lexicon-only precision", "lexicon-only recall"], table)
    )
    write_json(
        "bench_extraction",
        {
            "train": len(train),
            "test": len(test),
            "learned": learned,
            "lexicon_only": lexicon_only,
            "rules": model.describe(),
            "brand_coverage": brands[True] / len(test),
            "titles_per_s": len(test) / t_extract,
        },
    )


if __name__ == "__main__":
    main()
