"""Recommendations and similar items: diginetica next-item prediction, and `similar` latency.

Part 1 (no catalog, no models): diginetica item-view sessions
(`../shared/data/diginetica/sample_train-item-views.csv`, `session_id;user_id;item_id;timeframe;eventdate`).
* Time split: sessions sorted by start; the last `--test-share` of them are test sessions, the rest train.
* Each session: events in (date, timeframe) order, consecutive repeats of one item collapsed.
* Leave-last-out: a test session with >= 2 steps gives its prefix as the shopper's history and its last
  item as the one to predict. Only *train* sessions are written to the feedback log, so no test session
  (and no held-out item) contributes a co-occurrence; the script checks that before scoring.
* Methods, same run, same training sessions, 20 items each:
  (a) popularity: `CoViewModel.popular` (recommend's cold start),
  (b) session item-kNN (SKNN, Jannach & Ludewig 2017): cosine between binary session vectors, the
      `--sample` most recent train sessions sharing an item with the prefix, the `--knn` nearest, an
      item scores the summed similarity of the neighbours that contain it; implemented plainly here,
  (c) shoplens `recommend`: the train sessions are loaded as click events into a real `FeedbackLog`
      in a temp store dir, read back with `read_interactions` / `group_sessions`, fitted with
      `CoViewModel.fit` and queried with `recommend_items`, the function `Engine.recommend` calls, all
      with the default `RecommendConfig`.
* Metrics: Recall@20 and MRR@20 from `shoplens.evaluate` (one relevant item per test session).

Part 2 (`--store-products N`, default 300; 0 skips it): a real store over N shared fashion products;
`Engine.similar` p50/p99 latency against plain `Engine.search` (every query text distinct) on the same store in
the same run, and how often `similar` top-5 share the product's subCategory / gender against chance.

Rerun:
    .venv/bin/python benchmarks/bench_recommend.py                       # both parts
    .venv/bin/python benchmarks/bench_recommend.py --store-products 0    # diginetica only (seconds)
Writes benchmarks/out/bench_recommend.json.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import math
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

from shoplens.config import RecommendConfig  # noqa: E402
from shoplens.evaluate.metrics import evaluate  # noqa: E402
from shoplens.feedback.log import FeedbackLog  # noqa: E402
from shoplens.recommend.coview import (
    CoViewModel,  # noqa: E402
    recent_items,  # noqa: E402
)
from shoplens.recommend.recommender import fuse_ranked, recommend_items  # noqa: E402
from shoplens.recommend.sessions import Interaction, group_sessions, read_interactions  # noqa: E402

DIGINETICA = C.DATA / "diginetica" / "sample_train-item-views.csv"
K = 20


# ---------------------------------------------------------------------------- data


def load_sessions(path: Path) -> list[tuple[str, str | None, list[tuple[str, float]]]]:
    """(session id, user id, [(item, epoch seconds)]) in time order, consecutive repeats collapsed."""
    by_session: dict[str, list[tuple[float, int, str, str | None]]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for n, r in enumerate(csv.DictReader(f, delimiter=";")):
            day = dt.datetime.fromisoformat(r["eventdate"]).replace(tzinfo=dt.UTC).timestamp()
            user = None if r["user_id"] in ("", "NA") else r["user_id"]
            by_session[r["session_id"]].append((day + int(r["timeframe"]) / 1000.0, n, r["item_id"], user))
    out = []
    for sid, evs in by_session.items():
        evs.sort()
        steps: list[tuple[str, float]] = []
        for ts, _, item, _ in evs:
            if not steps or steps[-1][0] != item:
                steps.append((item, ts))
        out.append((sid, evs[0][3], steps))
    out.sort(key=lambda s: (s[2][0][1], s[0]))
    return out


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


def write_log(store: Path, sessions) -> FeedbackLog:
    """Train sessions as UBI click events (an item view is a click on a product) in a real log."""
    log = FeedbackLog(store)
    events = [
        {
            "event_id": f"dg-{sid}-{i}",
            "action_name": "click",
            "session_id": sid,
            "user_id": user,
            "timestamp": iso(ts),
            "event_attributes": {"object": {"object_id": item}},
        }
        for sid, user, steps in sessions
        for i, (item, ts) in enumerate(steps)
    ]
    rep = log.record_events(events)
    assert not rep.refused and rep.stored == len(events), rep.to_json()
    return log


# ---------------------------------------------------------------------------- baselines


class SessionKNN:
    """Textbook SKNN: neighbours are past sessions by cosine of binary item vectors."""

    def __init__(self, sessions, k: int, sample: int):
        self.k, self.sample = k, sample
        self.items = [set(i for i, _ in steps) for _, _, steps in sessions]
        self.time = [steps[-1][1] for _, _, steps in sessions]
        self.with_item: dict[str, list[int]] = defaultdict(list)
        for n, items in enumerate(self.items):
            for i in items:
                self.with_item[i].append(n)

    def recommend(self, prefix: list[str], n: int) -> list[tuple[str, float]]:
        cur = set(prefix)
        cands = {s for i in cur for s in self.with_item.get(i, ())}
        if len(cands) > self.sample:  # the most recent sessions, as in the published sampling
            cands = set(sorted(cands, key=lambda s: -self.time[s])[: self.sample])
        sims = sorted(
            ((len(cur & self.items[s]) / math.sqrt(len(cur) * len(self.items[s])), s) for s in cands),
            key=lambda x: (-x[0], x[1]),
        )[: self.k]
        scores: dict[str, float] = defaultdict(float)
        for sim, s in sims:
            for i in self.items[s]:
                scores[i] += sim
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


# ---------------------------------------------------------------------------- evaluation


def score(name: str, run: dict[str, list[str]], targets: dict[str, str], new: set[str]) -> dict[str, Any]:
    """`new`: the test sessions whose held-out item is not in their own prefix (a re-view is the other kind)."""
    runs = {q: {item: float(len(ids) - r) for r, item in enumerate(ids)} for q, ids in run.items()}
    ev = evaluate(runs, {q: {t: 1} for q, t in targets.items()}, [f"recall@{K}", f"mrr@{K}"])
    assert len(ev.per_query) == len(targets), "every test session must be scored"
    new_recall = sum(ev.per_query[q][f"recall@{K}"] for q in new) / len(new)
    return {
        "method": name,
        f"recall@{K}": ev.metrics[f"recall@{K}"],
        f"mrr@{K}": ev.metrics[f"mrr@{K}"],
        f"recall@{K}_new_items": new_recall,
    }


def paired_bootstrap(a: dict[str, list[str]], b: dict[str, list[str]], targets: dict[str, str], n: int = 2000):
    """Recall@K of run a minus run b, with a 95% interval from resampling test sessions (paired)."""
    import numpy as np

    sids = sorted(targets)
    d = np.array([(targets[s] in a[s][:K]) - (targets[s] in b[s][:K]) for s in sids], float)
    rng = np.random.default_rng(0)
    boots = d[rng.integers(0, len(d), (n, len(d)))].mean(1)
    return {"diff": float(d.mean()), "ci95": [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))]}


def diginetica(args) -> dict[str, Any]:
    sessions = load_sessions(DIGINETICA)
    cut = int(len(sessions) * (1 - args.test_share))
    train, test = sessions[:cut], [s for s in sessions[cut:] if len(s[2]) >= 2]
    cfg = RecommendConfig()
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp), train)
        t0 = time.perf_counter()
        events = read_interactions(log, cfg)
        model = CoViewModel.fit(group_sessions(events, cfg.session_gap_s), cfg)
        fit_s = time.perf_counter() - t0
        logged_sessions = {e.session for e in events}
        log.close()
    # No leakage: no test session's events are in what the model learnt from.
    assert not logged_sessions & {sid for sid, _, _ in test}, "a test session leaked into training"
    train_items = {i for _, _, steps in train for i, _ in steps}
    targets = {sid: steps[-1][0] for sid, _, steps in test}
    prefixes = {sid: steps[:-1] for sid, _, steps in test}

    runs: dict[str, dict[str, list[str]]] = {"popularity (cold start)": {}}
    pop = [i for i, _ in model.popular(K)]
    runs["popularity (cold start)"] = {sid: pop for sid in targets}
    for k in args.knn:
        sknn = SessionKNN(train, k, args.sample)
        runs[f"session item-kNN (k={k}, sample={args.sample})"] = {
            sid: [i for i, _ in sknn.recommend([i for i, _ in p], K)] for sid, p in prefixes.items()
        }
    # SKNN in place of the co-view model inside recommend's own fusion (recent items, popular fill):
    # is the co-view model itself as good as SKNN once both get the shopper's recent items?
    sknn = SessionKNN(train, 100, args.sample)
    fused_sknn = {}
    for sid, p in prefixes.items():
        history = [Interaction(item=i, action="click", ts=ts, session=sid) for i, ts in p]
        sources = {
            "coview": sknn.recommend([i for i, _ in p], 100),
            "recent": recent_items(history, cfg.history_items),
            "popular": model.popular(100),
        }
        fused_sknn[sid] = [r.item for r in fuse_ranked(sources, cfg.weights, cfg.rrf_k)[:K]]
    runs["session item-kNN (k=100) inside recommend's fusion (+ recent + popular)"] = fused_sknn
    lat: list[float] = []
    no_recent = dataclasses.replace(cfg, weights={**cfg.weights, "recent": 0.0})
    for name, c in (
        ("shoplens recommend, co-view only (ablation: recent weight 0)", no_recent),
        ("shoplens recommend (co-view + recent + popular fill)", cfg),
    ):
        shop: dict[str, list[str]] = {}
        for sid, p in prefixes.items():
            history = [Interaction(item=i, action="click", ts=ts, session=sid) for i, ts in p]
            t = time.perf_counter()
            shop[sid] = [r.item for r in recommend_items(model, history, K, c)]
            lat.append((time.perf_counter() - t) * 1000)
        runs[name] = shop
    new = {sid for sid, t in targets.items() if t not in {i for i, _ in prefixes[sid]}}
    rows = [score(name, run, targets, new) for name, run in runs.items()]
    ours = "shoplens recommend (co-view + recent + popular fill)"
    diffs = {
        other: paired_bootstrap(runs[ours], runs[other], targets)
        for other in runs
        if other.startswith("session item-kNN (k=100")
    }
    return {
        "train_sessions": len(train),
        "test_sessions": len(test),
        "targets_seen_in_training": sum(t in train_items for t in targets.values()) / len(targets),
        "targets_in_own_prefix": sum(t in {i for i, _ in prefixes[s]} for s, t in targets.items()) / len(targets),
        "fit_s": fit_s,
        "recommend_ms_p50": C.pct(lat, 50),
        "rows": rows,
        "recall_difference_vs": diffs,
    }


# ---------------------------------------------------------------------------- similar on a real store


def top5_quality(eng, probe: list[str], by_id: dict[str, dict], lam: float) -> dict[str, float]:
    """Top-5 `similar --by both` at MMR lambda `lam`: type agreement, brand repeats, mean photo cosine
    between the five (lower = more varied)."""
    import numpy as np

    saved = eng.recommend_config
    eng.recommend_config, eng._recommendations = dataclasses.replace(saved, mmr_lambda=lam), None
    same_type = same_brand = pairs = n = 0
    cos = []
    index = eng.reader.vectors["image"]
    for pid in probe:
        ids = eng.similar(pid, k=5).ids
        same_type += sum(by_id[h]["subCategory"] == by_id[pid]["subCategory"] for h in ids)
        brands = [by_id[h]["productDisplayName"].split()[0] for h in ids]
        same_brand += sum(a == b for i, a in enumerate(brands) for b in brands[i + 1 :])
        pairs += len(ids) * (len(ids) - 1) // 2
        n += len(ids)
        _, v = index.vectors_of(np.asarray([eng.recommendations.doc_of[h] for h in ids]))
        sims = v @ v.T
        cos.append(float(sims[np.triu_indices(len(ids), 1)].mean()))
    eng.recommend_config, eng._recommendations = saved, None
    return {
        "type_share": same_type / n,
        "same_brand_pairs": same_brand / pairs,
        "mean_photo_cosine": float(np.mean(cos)),
    }


def similar_part(args) -> dict[str, Any]:
    rows = C.subset_rows(C.read_fashion_rows(), args.store_products, seed=0)
    catalog = C.write_catalog(rows, C.CATALOGS / f"recommend_{args.store_products}.csv")
    store = C.STORES / f"recommend_{args.store_products}"
    eng, build_s, _ = C.open_or_build(catalog, store, align=False, progress=False)
    ids = [r["id"] for r in rows]
    by_id = {r["id"]: r for r in rows}
    rng = random.Random(0)
    probe = rng.sample(ids, min(args.queries, len(ids)))
    for pid in probe[:5]:  # warm-up: page in vectors, load the text encoder for search
        eng.similar(pid, k=10)
        eng.search(text=f"warm up {pid}", k=10)
    sim_ms: dict[str, list[float]] = defaultdict(list)
    search_ms = []
    agree = Counter()
    for n, pid in enumerate(probe):
        r = by_id[pid]
        for by in ("photo", "text", "both"):
            t = time.perf_counter()
            res = eng.similar(pid, k=5, by=by)
            sim_ms[by].append((time.perf_counter() - t) * 1000)
            if by == "both":
                for h in res.ids:
                    agree["type"] += by_id[h]["subCategory"] == r["subCategory"]
                    agree["gender"] += by_id[h]["gender"] == r["gender"]
                    agree["n"] += 1
        # a distinct text per query: no encoder cache hit
        text = f"{r['gender']} {r['baseColour']} {r['subCategory']} {n}"
        t = time.perf_counter()
        eng.search(text=text, k=10)
        search_ms.append((time.perf_counter() - t) * 1000)
    diversity = {lam: top5_quality(eng, probe, by_id, lam) for lam in (1.0, eng.recommend_config.mmr_lambda)}
    counts = {f: Counter(r[c] for r in rows) for f, c in (("type", "subCategory"), ("gender", "gender"))}
    chance = {f: sum((c / len(rows)) * ((c - 1) / (len(rows) - 1)) for c in cnt.values()) for f, cnt in counts.items()}
    eng.close()
    p50_search = C.pct(search_ms, 50)
    return {
        "products": len(rows),
        "queries": len(probe),
        "build_s": build_s,
        "search_ms_p50": p50_search,
        "search_ms_p99": C.pct(search_ms, 99),
        "similar_ms": {
            by: {"p50": C.pct(v, 50), "p99": C.pct(v, 99), "ratio_to_search_p50": C.pct(v, 50) / p50_search}
            for by, v in sim_ms.items()
        },
        "top5_share_same": {f: agree[f] / agree["n"] for f in ("type", "gender")},
        "mmr": {str(lam): v for lam, v in diversity.items()},
        "chance_same": chance,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test-share", type=float, default=0.2, help="latest share of sessions held out")
    ap.add_argument("--knn", type=int, nargs="+", default=[50, 100, 500], help="SKNN neighbour counts to run")
    ap.add_argument("--sample", type=int, default=1000, help="SKNN: most recent candidate sessions considered")
    ap.add_argument("--store-products", type=int, default=300, help="fashion products for the `similar` part; 0 skips")
    ap.add_argument("--queries", type=int, default=100, help="products queried in the `similar` part")
    args = ap.parse_args()
    out: dict[str, Any] = {"environment": C.environment(), "args": vars(args)}
    d = out["diginetica"] = diginetica(args)
    print(
        f"diginetica: {d['train_sessions']} train / {d['test_sessions']} test sessions; "
        f"targets seen in training {d['targets_seen_in_training']:.1%}, "
        f"in their own prefix {d['targets_in_own_prefix']:.1%}"
    )
    print(
        C.md_table(
            ["method", f"Recall@{K}", f"MRR@{K}", f"Recall@{K}, target new to the session"],
            [[r["method"], r[f"recall@{K}"], r[f"mrr@{K}"], r[f"recall@{K}_new_items"]] for r in d["rows"]],
        )
    )
    for other, v in d["recall_difference_vs"].items():
        lo, hi = v["ci95"]
        print(f"recommend minus {other}: Recall@{K} {v['diff']:+.3f} (95% CI {lo:+.3f} .. {hi:+.3f}, paired bootstrap)")
    if args.store_products:
        s = out["similar"] = similar_part(args)
        print(f"\nsimilar on {s['products']} fashion products, {s['queries']} products queried:")
        rows = [["search (text, uncached)", s["search_ms_p50"], s["search_ms_p99"], 1.0]]
        rows += [
            [f"similar --by {b}", v["p50"], v["p99"], v["ratio_to_search_p50"]] for b, v in s["similar_ms"].items()
        ]
        print(C.md_table(["call", "p50 ms", "p99 ms", "p50 / search p50"], rows))
        print(
            "top-5 (by both) share the product's "
            + ", ".join(f"{f}: {v:.1%} (chance {s['chance_same'][f]:.1%})" for f, v in s["top5_share_same"].items())
        )
        print(
            C.md_table(
                ["MMR lambda", "top-5 same type", "same-brand pairs in top-5", "mean photo cosine within top-5"],
                [[lam, v["type_share"], v["same_brand_pairs"], v["mean_photo_cosine"]] for lam, v in s["mmr"].items()],
            )
        )
    print(f"wrote {C.write_json('bench_recommend', out)}")


if __name__ == "__main__":
    main()
