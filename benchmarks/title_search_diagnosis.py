"""Per-title diagnosis of exact title -> photo through `Engine.search` on the held-out photo-only store.

    nice .venv/bin/python benchmarks/title_search_diagnosis.py --heads-dir benchmarks/out/quality2/heads_heldout_query \
        --variants prev new [--set FIELD=VALUE ...]

For every held-out title (the measured 1,342 and the 200 calibration ones, kept apart in the output):
the rank of its photo by the aligned cosine alone, its rank on the search page of each variant (None:
not in the top 10), whether the page came back empty, the query's understood attributes and coverage.
Prints the titles a variant loses or gains against the cosine, and the empty pages; JSON to
benchmarks/out/quality2/title_diagnosis.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_quality2 as bq  # noqa: E402
from align_data import load_fashion  # noqa: E402

from shoplens.search.compose import attribute_coverage  # noqa: E402
from shoplens.search.understand import understand  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads-dir", type=Path, required=True)
    ap.add_argument("--variants", nargs="*", default=["prev", "new"], choices=["legacy", "prev", "new"])  # + --set
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="QualityConfig values for an extra variant 'set' (several: 'F=V;F2=V2' is one variant, each one more)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="first N titles of each group only (0: all)")
    ap.add_argument("--groups", nargs="*", default=["measured", "calibration"], choices=["measured", "calibration"])
    a = ap.parse_args(argv)
    products = load_fashion()
    rows = bq.heldout_rows(products, a.seed)
    bq.use_heldout_heads(a.heads_dir.resolve())
    engine = bq.photo_only_engine(
        products, rows, f"photo_only_store_heldout_heads_{a.heads_dir.name}", bq.heads_image_encoders(a.heads_dir)
    )
    ids = list(engine.reader.products.ids)
    all_titles = np.array([(products[rows[d]].title or "").strip().lower() for d in range(len(rows))])
    variants = {v: {"legacy": bq.LEGACY, "prev": bq.PREVIOUS, "new": bq.QualityConfig()}[v] for v in a.variants}
    for spec in a.set:
        kw = {f: bq.setting_value(f, v) for f, v in (x.split("=", 1) for x in spec.split(";"))}
        variants[spec] = bq.QualityConfig().with_(**kw)
    groups = {
        "measured": bq.measured_title_rows(len(rows), a.seed, 0, 200),
        "calibration": bq.calibration_title_rows(len(rows), a.seed, 200),
    }
    groups = {g: groups[g] for g in a.groups}
    idx = engine.reader.vectors["aligned:image"]
    found, gal = idx.vectors_of(np.arange(len(ids)))
    out: dict = {}
    for g, pick in groups.items():
        pick = pick[: a.limit] if a.limit else pick
        recs = []
        for d in pick:
            t = products[rows[d]].title
            want = t.strip().lower()
            s = gal @ engine.searcher._heads_text(t)
            s[~found] = -np.inf
            own = np.flatnonzero(all_titles == want)
            cos_rank = int(min(np.sum(s > s[o]) for o in own)) + 1
            und = understand(t, engine.searcher.field_map, engine.searcher.lex)
            rec = {
                "title": t,
                "cos_rank": cos_rank,
                "fields": und.fields,
                "coverage": attribute_coverage(t, und.residual, len(und.fields)) if und.fields else 0.0,
            }
            for v, cfg in variants.items():
                bq.set_quality(engine, cfg)
                hits = engine.search(t, k=10).hits
                rank = next((r + 1 for r, h in enumerate(hits) if all_titles[ids.index(h.id)] == want), None)
                rec[v] = {
                    "rank": rank,
                    "empty": not hits,
                    "best_conf": max((h.confidence or 0 for h in hits), default=0),
                }
            recs.append(rec)
        out[g] = recs
        n = len(recs)
        print(f"\n## {g} ({n} titles): cosine R@10 {sum(r['cos_rank'] <= 10 for r in recs) / n:.4f}")
        for v in variants:
            r10 = sum(r[v]["rank"] is not None for r in recs) / n
            lost = [r for r in recs if r["cos_rank"] <= 10 and r[v]["rank"] is None]
            gained = [r for r in recs if r["cos_rank"] > 10 and r[v]["rank"] is not None]
            empty = [r for r in recs if r[v]["empty"]]
            print(f"{v}: R@10 {r10:.4f}; lost {len(lost)}, gained {len(gained)}, empty {len(empty)}")
            for r in lost:
                why = "EMPTY" if r[v]["empty"] else "moved out"
                print(f"  lost ({why}) cos rank {r['cos_rank']} cov {r['coverage']:.2f} {r['fields']}: {r['title']!r}")
            for r in gained:
                print(f"  gained cos rank {r['cos_rank']} -> {r[v]['rank']} cov {r['coverage']:.2f}: {r['title']!r}")
    path = bq.Q2 / "title_diagnosis.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str))
    print(f"json: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
