"""Rebuild the bundled demo catalog (shoplens/data/demo) from ../shared/data/fashion.

Deterministic: six products for each example query of the demo, then
stratified by sub-category and colour so the demo shows many kinds of
product. 20 products keep only their photo (no title/attributes) and
20 text-only products come from styles_text_only.csv, so the demo exercises
cross-modal search; 10 get a Chinese title worded from their attributes.
Run: .venv/bin/python scripts/make_demo_subset.py
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from shoplens.preprocess.lexicon import product_type, wording  # noqa: E402

SRC = Path(os.environ.get("SHOPLENS_SHARED_DATA") or ROOT.parent / "shared" / "data") / "fashion"
DST = ROOT / "shoplens" / "data" / "demo"
N_IMAGES = 300
SHOWCASE = [
    ("Men", "Black", "shoes"),
    ("Women", "Blue", "jeans"),
    ("Women", "Red", "dress"),
    ("Men", "White", "tshirt"),
]


def main() -> None:
    rng = random.Random(7)
    rows = list(csv.DictReader(open(SRC / "catalog.csv", encoding="utf-8")))
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["subCategory"], r["baseColour"])].append(r)
    keys = sorted(groups)
    rng.shuffle(keys)
    # The demo's example queries must have answers, including photo-only ones: six products of
    # each showcase kind first (the first two of each lose their title, see below).
    picked: list[dict] = []
    for gender, colour, ptype in SHOWCASE:
        pool = [
            r
            for r in rows
            if r["gender"] == gender and r["baseColour"] == colour and product_type(r["productDisplayName"]) == ptype
        ]
        picked += rng.sample(pool, min(6, len(pool)))
    taken = {r["id"] for r in picked}
    for k in keys:
        groups[k] = [r for r in groups[k] if r["id"] not in taken]
    while len(picked) < N_IMAGES:
        for k in keys:
            if groups[k] and len(picked) < N_IMAGES:
                picked.append(groups[k].pop(rng.randrange(len(groups[k]))))
    if DST.exists():
        shutil.rmtree(DST)
    (DST / "images").mkdir(parents=True)
    out = []
    for i, r in enumerate(picked):
        shutil.copy(SRC / r["image"], DST / "images" / Path(r["image"]).name)
        row = {
            "id": r["id"],
            "title": r["productDisplayName"],
            "image": r["image"],
            "gender": r["gender"],
            "masterCategory": r["masterCategory"],
            "subCategory": r["subCategory"],
            "baseColour": r["baseColour"],
            "season": r["season"],
            "usage": r["usage"],
        }
        photo_only = (i < 6 * len(SHOWCASE) and i % 6 < 2) or 6 * len(SHOWCASE) <= i < 6 * len(SHOWCASE) + 12
        if photo_only:  # found by text only through the alignment heads
            row = {"id": r["id"], "image": r["image"]}
        elif 6 * len(SHOWCASE) + 12 <= i < 6 * len(SHOWCASE) + 22 and product_type(r["productDisplayName"]):
            row["title"] = (
                wording("gender", r["gender"], "zh")
                + wording("colour", r["baseColour"], "zh")
                + wording("type", product_type(r["productDisplayName"]), "zh")
            )
        out.append(row)
    text_only = list(csv.DictReader(open(SRC / "styles_text_only.csv", encoding="utf-8")))
    have = {r["id"] for r in picked}
    for r in rng.sample([r for r in text_only if r["id"] not in have], 20):
        out.append(
            {
                "id": r["id"],
                "title": r["productDisplayName"],
                "gender": r["gender"],
                "masterCategory": r["masterCategory"],
                "subCategory": r["subCategory"],
                "baseColour": r["baseColour"],
                "season": r["season"],
                "usage": r["usage"],
            }
        )
    cols = ["id", "title", "image", "gender", "masterCategory", "subCategory", "baseColour", "season", "usage"]
    with open(DST / "catalog.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for row in out:
            w.writerow({c: row.get(c, "") for c in cols})
    (DST / "README.md").write_text(
        "Demo subset of the Fashion Product Images (Small) dataset (Myntra, via Kaggle, MIT), "
        f"{len(out)} products, made by scripts/make_demo_subset.py. 20 rows keep only their photo "
        "(no title or attributes); 10 rows carry a Chinese title worded from their attributes; the last 20 "
        "are text-only.\n"
    )
    print(f"wrote {len(out)} products to {DST}")


if __name__ == "__main__":
    main()
