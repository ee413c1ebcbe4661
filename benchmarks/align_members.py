"""Heads with title and attribute members (`AlignConfig.title_members`), put together from
ensembles trained apart, and which members a query should read.

    # held-out heads: the plain members of heads_heldout_query + title members trained on the same 80%
    nice .venv/bin/python benchmarks/bench_quality2_heads.py --no-mlp --set title_loss_weight=1.0 seed=3 \
        --workers 2 --out benchmarks/out/quality2/heads_heldout_tl1_s3
    nice .venv/bin/python benchmarks/align_members.py combine --attributes benchmarks/out/quality2/heads_heldout_query \
        --title benchmarks/out/quality2/heads_heldout_tl1_s3 --mlp-from benchmarks/out/quality2/heads_heldout_mlp \
        --out benchmarks/out/quality2/heads_heldout_mixed
    # title -> photo R@10 by the aligned cosine alone, for several member weightings (t = the title members' weight)
    nice .venv/bin/python benchmarks/align_members.py cosine --heads-dir benchmarks/out/quality2/heads_heldout_mixed

`combine` is exactly the recipe `AlignConfig(ensemble=A+T, title_members=T, title_loss_weight=w)` would
train when the attribute members are seeds 0..A-1 of the plain recipe and the title members seeds A..A+T-1
with the title loss (`AlignConfig.member`); the attribute classifiers are refit on the combined
embedding (as training does), on the same products (`--rows heldout`: all but the held-out 20%;
`all`: every fashion product, for the shipped heads). The attribute MLP reads raw photo features, not
the space: `--mlp-from` copies one fitted on the same products, `--fit-mlp` fits it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from bench_quality2_heads import heldout_rows  # noqa: E402

from shoplens.align.config import AlignConfig  # noqa: E402
from shoplens.align.heads import Heads, ensemble_heads, ensemble_members  # noqa: E402
from shoplens.align.run import build_align_data  # noqa: E402
from shoplens.align.train import fit_attribute_classifiers, fit_raw_attribute_mlp  # noqa: E402


def combine(a) -> int:
    attr, title = Heads.load(a.attributes), Heads.load(a.title)
    ra, rt = AlignConfig.from_json(attr.meta["recipe"]), AlignConfig.from_json(title.meta["recipe"])
    members = ensemble_members(attr) + ensemble_members(title)
    na, nt = attr.groups, title.groups
    if rt.seed != ra.seed + na or ra.title_loss_weight > 0 or rt.title_loss_weight <= 0:
        print(f"note: not the recipe's members (attribute seeds {ra.seed}.., title seeds {rt.seed}..)")
    cfg = ra.with_(ensemble=na + nt, title_members=nt, title_loss_weight=rt.title_loss_weight)
    roles = cfg.member_roles()
    assert roles is not None
    heads = ensemble_heads(members, roles)
    heads.meta.update({k: v for k, v in attr.meta.items() if k not in ("ensemble", "member_roles", "metrics")})
    heads.meta["recipe"] = cfg.to_json()
    heads.meta["seed"] = cfg.seed
    heads.meta["combined_from"] = {"attributes": str(a.attributes), "title": str(a.title)}
    t0 = time.perf_counter()
    encs, cache, products = make_encoders(), feature_cache(), load_fashion()
    fs = featureset(products, encs, cache, progress=True)
    rows = np.arange(len(products))
    if a.rows == "heldout":
        rows = np.setdiff1d(rows, heldout_rows(products))
    data = build_align_data(fs, cache, encs, cfg, field_map=FIELD_MAP, rows=rows, progress=True)
    idx = np.arange(data.n)
    fit_attribute_classifiers(heads, data, idx, cfg)
    if a.mlp_from:
        heads.attribute_mlp = Heads.load(a.mlp_from).attribute_mlp
    elif a.fit_mlp:
        fit_raw_attribute_mlp(heads, data, idx, cfg)
    heads.save(a.out)
    print(f"saved {a.out} ({heads.fingerprint}, roles {roles}) in {time.perf_counter() - t0:.0f}s")
    return 0


def cosine(a) -> int:
    import bench_quality2 as bq

    from shoplens.search.compose import attribute_coverage
    from shoplens.search.understand import understand

    products = load_fashion()
    rows = bq.heldout_rows(products, 0)
    bq.use_heldout_heads(a.heads_dir.resolve())
    engine = bq.photo_only_engine(products, rows, "photo_only_store_heldout_heads_" + a.heads_dir.name)
    s = engine.searcher
    heads = s.heads
    roles = np.array(heads.member_roles)
    g = heads.groups
    found, gal = engine.reader.vectors["aligned:image"].vectors_of(np.arange(len(rows)))
    gal = gal.reshape(len(gal), g, -1)
    all_titles = np.array([(products[r].title or "").strip().lower() for r in rows])
    pick = bq.measured_title_rows(len(rows), 0, 0, 200)
    titles = [products[rows[i]].title for i in pick]
    cov, sims = [], []
    for t in titles:
        und = understand(t, s.field_map, s.lex)
        cov.append(attribute_coverage(t, und.residual, len(und.fields)) if und.fields else 0.0)
        q = s._heads_text(t).reshape(g, -1)
        sims.append(np.einsum("ngd,gd->gn", gal, q) * g)  # per member: its cosine
    C, S = np.array(cov), np.array(sims)  # (Q,), (Q, g, N)

    def recall(t_of_cov) -> float:
        hits = 0
        for qi, t in enumerate(titles):
            tw = float(t_of_cov(C[qi]))
            w = np.where(roles == "title", tw, 1.0 - tw)
            sc = (w[:, None] * S[qi]).sum(0) / w.sum()
            sc[~found] = -np.inf
            top = np.argsort(-sc)[:10]
            hits += any(all_titles[d] == t.strip().lower() for d in top)
        return hits / len(titles)

    res = {"titles": len(titles), "coverage_mean": float(C.mean()), "coverage_1": int((C >= 1).sum())}
    schemes = {
        "attribute members only (t=0)": lambda c: 0.0,
        "all members (mean)": lambda c: float((roles == "title").mean()),
        "title members only (t=1)": lambda c: 1.0,
        "t = 1 - coverage": lambda c: 1.0 - c,
        "t = min(1, 2(1 - coverage))": lambda c: min(1.0, 2 * (1.0 - c)),
        "t = min(0.75, 2(1 - coverage))": lambda c: min(0.75, 2 * (1.0 - c)),
        "t = 0.5 (1 - coverage)": lambda c: 0.5 * (1.0 - c),
        "t = 1 if coverage < 1": lambda c: 1.0 if c < 1 else 0.0,
        "t = 0.75 if coverage < 1": lambda c: 0.75 if c < 1 else 0.0,
    }
    for name, fn in schemes.items():
        res[name] = recall(fn)
        print(f"{name}: title -> photo R@10 {res[name]:.4f} ({len(titles)} titles)", flush=True)
    print(json.dumps({k: v for k, v in res.items() if not isinstance(v, float)}))
    out = OUT / "quality2" / f"members_cosine_{a.heads_dir.name}.json"
    out.write_text(json.dumps(res, indent=2))
    engine.close()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("combine")
    c.add_argument("--attributes", type=Path, required=True)
    c.add_argument("--title", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--rows", choices=["heldout", "all"], default="heldout")
    c.add_argument("--mlp-from", type=Path)
    c.add_argument("--fit-mlp", action="store_true")
    k = sub.add_parser("cosine")
    k.add_argument("--heads-dir", type=Path, required=True)
    a = ap.parse_args(argv)
    return combine(a) if a.cmd == "combine" else cosine(a)


if __name__ == "__main__":
    raise SystemExit(main())
