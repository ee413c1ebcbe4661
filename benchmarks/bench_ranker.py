"""Learning from SIMULATED shoppers: held-out-query lift, ranker ROC-AUC, re-ranking cost, taste shift.

The shoppers are simulated (shoplens.evaluate.simulate): each has a hidden colour-family taste
(dark / warm / cool), searches "gender type" queries made from the catalog's attributes through
the engine's own results, and clicks with a position-biased click model with noise. Their searches
are logged and their clicks recorded in the store's real feedback log; `Engine.train_ranker` learns
from it. Quality is NDCG@10 against the hidden taste (grade 2 = relevant and in taste, 1 = relevant)
on HELD-OUT queries: query texts no shopper searched during training.

Steps, all in one run on one store:
1. NDCG@10 of the engine without the ranker (held-out and training queries);
2. `--train-searches` simulated sessions on the training queries (logged), then train_ranker;
3. NDCG@10 with the ranker: ratio against step 1 (same shoppers, same queries);
4. latency: `engine.search` with and without the ranker on distinct, uncached query texts (product
   titles, alternating which mode goes first), and the re-rank cost alone (timings_ms["rerank"],
   100 candidates: features + ONNX + explanations);
5. taste shift: every shopper's taste rotates (dark->warm->cool->dark); blocks of `--shift-block`
   sessions follow; after each block NDCG@10 is measured with live features only (profiles and CTRs
   folded in from the log, network frozen) and again after an incremental update (`train_ranker
   (incremental=True)`); recovery = (NDCG - NDCG of the engine without ranker) / lift before the shift.

Rerun:
    .venv/bin/python benchmarks/bench_ranker.py                       # 1200 products, ~10 min on 2 busy cores
    .venv/bin/python benchmarks/bench_ranker.py --rows 400 --train-searches 300 --shift-blocks 1   # quick check
    .venv/bin/python benchmarks/bench_ranker.py --explore 0.5 --shift-blocks 0 --latency-queries 0   # exploration
Writes benchmarks/out/bench_ranker.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


def clean_feedback(store: Path) -> None:
    """The benchmark owns its store: start from an empty log and no ranker."""
    for p in store.glob("feedback.sqlite*"):
        p.unlink()
    shutil.rmtree(store / "ranker", ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1200, help="fashion products in the store (first N rows)")
    ap.add_argument("--shoppers", type=int, default=30)
    ap.add_argument("--eval-shoppers", type=int, default=15, help="shoppers whose (shopper, query) pairs are judged")
    ap.add_argument("--train-searches", type=int, default=900)
    ap.add_argument("--shift-blocks", type=int, default=3)
    ap.add_argument("--shift-block", type=int, default=200, help="sessions per block after the taste shift")
    ap.add_argument("--latency-queries", type=int, default=100, help="distinct texts per mode")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ips-clip", type=float, default=10.0, help="cap on position-bias weights (1 = no correction)")
    ap.add_argument("--hidden", default="", help="MLP layer widths, e.g. 128,64 (default: the ranker's)")
    ap.add_argument(
        "--half-life-days",
        type=float,
        default=7.0,
        help="profile half-life (simulated time: one hour between sessions); sets how fast a taste shift is followed",
    )
    ap.add_argument(
        "--position-bias",
        default="ips,pal",
        help="comma list of position-bias corrections to train on the same log (ips, ips@CLIP, pal; a "
        "suffix +listW adds a listwise term of weight W); the last one serves the latency and taste-shift steps",
    )
    ap.add_argument(
        "--explore",
        type=float,
        default=0.0,
        help="[ranker] explore: share of the logged training searches shown with random adjacent pairs swapped "
        "(FairPairs, top 10, first hit kept); 0 = off",
    )
    ap.add_argument("--explore-first", action="store_true", help="[ranker] explore_first: the top hit may swap too")
    ap.add_argument("--store", type=Path, help="store directory (default benchmarks/out/stores/ranker_<rows>)")
    args = ap.parse_args(argv)

    from shoplens.engine import Engine
    from shoplens.evaluate.simulate import Shopper, Simulator, make_queries, make_shoppers
    from shoplens.rank.features import FeatureBuilder

    store = args.store or C.STORES / f"ranker_{args.rows}"
    if not (store / "CURRENT").exists():
        catalog = C.write_catalog(C.read_fashion_rows(args.rows), C.CATALOGS / f"ranker_{args.rows}.csv")
        C.build_store(catalog, store, C.engine_config(onnx_dir=store / "cache" / "onnx"), align=False, progress=True)
    clean_feedback(store)
    engine = Engine.open(
        store,
        C.engine_config(onnx_dir=store / "cache" / "onnx"),
        overrides={"ranker.explore": args.explore, "ranker.explore_first": args.explore_first},
    )
    engine._explore_rng = random.Random(args.seed + 1000)  # the benchmark's exploration is reproducible
    fb = FeatureBuilder(engine.reader)
    products = {pid: fb.attrs[d] for d, pid in enumerate(fb.ids)}
    queries = make_queries(products, min_relevant=5)
    rng = random.Random(args.seed)
    rng.shuffle(queries)
    held = queries[::3]
    train_q = [q for q in queries if q not in held]
    shoppers = make_shoppers(args.shoppers, seed=args.seed)
    judged = shoppers[: args.eval_shoppers]
    total = args.train_searches + args.shift_blocks * args.shift_block
    sim = Simulator(products, seed=args.seed, clock=time.time() - (total + 10) * 3600.0)
    print(f"store {store}: {len(products)} products; {len(train_q)} training and {len(held)} held-out queries")
    print(f"  held-out: {', '.join(q.text for q in held)}")

    by_user = {s.user_id: s for s in shoppers}
    by_text = {q.text: q for q in queries}
    pages: list[tuple[Shopper, Any, list[str], list[str]]] = []  # (shopper, query, as ranked, as shown)

    def logged_search(text: str, user: str) -> tuple[str, list[str]]:
        # Engine.search(log=True)'s logging, with the simulated clock's timestamp: the exploration order
        # (engine.exploration, [ranker] explore) is applied and the shown order is what is logged
        res = engine.search(text, k=10, user=user)
        explored = engine.exploration(len(res.ids))
        shown = res.ids if explored is None else explored.apply(res.ids)
        attrs = {"explored": explored.log_attributes()} if explored else None
        qid = engine.feedback.log_query(
            text, shown, user_id=user, client_id=user, timestamp=sim.now_iso(), attributes=attrs
        )
        pages.append((by_user[user], by_text[text], res.ids, shown))
        return qid, shown

    def ranked(rerank: bool):
        return lambda text, user: engine.search_query(_query(text, user), rerank=rerank).ids

    def ndcg(who: list[Shopper], qs, rerank: bool) -> float:
        return sim.ndcg(ranked(rerank), [(s, q) for s in who for q in qs])["ndcg"]

    out: dict[str, Any] = {"environment": C.environment(), "args": {k: str(v) for k, v in vars(args).items()}}
    base = {"held_out": ndcg(judged, held, False), "trained": ndcg(judged, train_q, False)}
    t0 = time.perf_counter()
    st = sim.run(logged_search, engine.record_events, shoppers, train_q, args.train_searches)
    print(f"simulated {st.searches} searches, {st.clicks} clicks, {st.carts} carts ({time.perf_counter() - t0:.0f} s)")
    out["exploration_cost"] = exploration_cost(sim, pages)
    ec = out["exploration_cost"]
    print(
        f"exploration {args.explore}: {ec['explored_pages']} of {ec['pages']} logged pages changed by exploration; "
        f"NDCG@10 vs hidden taste of those pages as ranked {ec['explored_as_ranked']:.4f} -> as shown "
        f"{ec['explored_as_shown']:.4f}; "
        f"all logged pages {ec['all_as_ranked']:.4f} -> {ec['all_as_shown']:.4f}"
    )
    from shoplens.config import RankerSettings

    variants = {}
    for mode in [m.strip() for m in args.position_bias.split(",") if m.strip()]:
        # "ips@3": IPS clipped at 3 instead of --ips-clip; "ips+list0.5": plus a listwise term weighing 0.5
        spec, _, lw = mode.partition("+list")
        bias, _, clip = spec.partition("@")
        settings = RankerSettings(
            profile_half_life_days=args.half_life_days,
            ips_clip=float(clip) if clip else args.ips_clip,
            position_bias=bias,
            listwise=float(lw or 1.0) if "+list" in mode else RankerSettings.listwise,  # "+list0": none
        )
        if args.hidden:
            settings = dataclasses.replace(settings, hidden=tuple(int(h) for h in args.hidden.split(",")))
        metrics = engine.train_ranker(settings)
        ranked_ndcg = {"held_out": ndcg(judged, held, True), "trained": ndcg(judged, train_q, True)}
        v, r = metrics["validation"], metrics["validation_relevance"]
        variants[mode] = {
            "ndcg10_with_ranker": ranked_ndcg,
            "ratio_held_out": ranked_ndcg["held_out"] / base["held_out"],
            "ratio_trained": ranked_ndcg["trained"] / base["trained"],
            "train_ranker": {
                k: metrics[k]
                for k in (
                    "validation",
                    "validation_relevance",
                    "validation_logged_order",
                    "validation_position_only",
                    "validation_chance_roc_auc",
                    "examination_by_position",
                    "seconds",
                    "epochs",
                )
            },
        }
        print(
            f"[{mode}] NDCG@10 held-out {base['held_out']:.4f} -> {ranked_ndcg['held_out']:.4f} "
            f"({variants[mode]['ratio_held_out']:.3f}x); trained queries {base['trained']:.4f} -> "
            f"{ranked_ndcg['trained']:.4f}; validation ROC-AUC {v['roc_auc']:.4f} PR-AUC {v['pr_auc']:.4f} "
            f"(click model: examination x relevance for ips, relevance + position term for pal); "
            f"relevance score alone {r['roc_auc']:.4f}; position alone (examination probability) "
            f"{metrics['validation_position_only']['roc_auc']:.4f}; logged order "
            f"{metrics['validation_logged_order']['roc_auc']:.4f}; chance 0.5"
        )
        exam = metrics.get("examination_by_position", {})
        top = exam.get("0") or 1.0
        print(
            "  fitted examination / top, positions 0-9: "
            + " ".join(f"{exam[str(p)] / top:.2f}" for p in range(10) if str(p) in exam)
            + " (simulated shoppers: 0.8^position)"
        )
    out["simulator"] = {
        "searches": st.searches,
        "clicks": st.clicks,
        "carts": st.carts,
        "ndcg10_without_ranker": base,
        "position_bias": variants,
        **variants[mode],  # the one kept for the steps below
        "kept": mode,
    }
    if args.latency_queries:
        out["latency"] = latency(engine, fb, args.latency_queries, args.seed)
        lat = out["latency"]
        print(
            f"search p50 {lat['search_p50_ms_without']:.1f} ms without ranker, {lat['search_p50_ms_with']:.1f} ms "
            f"with; re-rank of {lat['candidates']} candidates p50 {lat['rerank_p50_ms']:.2f} ms "
            f"(p99 {lat['rerank_p99_ms']:.2f})"
        )
    if args.shift_blocks:
        ts = out["taste_shift"] = taste_shift(engine, sim, shoppers, judged, held, train_q, args, ndcg, logged_search)
        lift = ts["lift_before_shift"] = ranked_ndcg["held_out"] - base["held_out"]
        for b in ts["blocks"]:
            for key in ("ndcg10_live_features", "ndcg10_after_incremental_update"):
                b["recovery_" + key.removeprefix("ndcg10_")] = (b[key] - ts["ndcg10_without_ranker"]) / lift
            print(
                f"  recovery of the pre-shift lift after {b['events_since_shift']} events: "
                f"{b['recovery_live_features']:.0%} (live features), "
                f"{b['recovery_after_incremental_update']:.0%} (after incremental update)"
            )
    path = C.write_json("bench_ranker", out)
    print(f"wrote {path}")
    return out


def exploration_cost(sim, pages) -> dict[str, Any]:
    """What exploration cost the shoppers: NDCG@10 against the hidden taste of each logged page as the
    engine ranked it and as it was shown (pairs swapped), over the explored pages and over all of them."""
    from shoplens.evaluate.metrics import evaluate

    def mean_ndcg(rows, which: int) -> float:
        if not rows:
            return float("nan")
        run, qrels = {}, {}
        for n, (shopper, q, *orders) in enumerate(rows):
            ids = orders[which][:10]
            run[str(n)] = {pid: float(len(ids) - i) for i, pid in enumerate(ids)}
            qrels[str(n)] = {pid: g for pid in sim.products if (g := sim.grade(q, shopper, pid)) > 0}
        return evaluate(run, qrels, ["ndcg@10"]).metrics["ndcg@10"]

    explored = [p for p in pages if p[2] != p[3]]
    return {
        "pages": len(pages),
        "explored_pages": len(explored),
        "explored_as_ranked": mean_ndcg(explored, 0),
        "explored_as_shown": mean_ndcg(explored, 1),
        "all_as_ranked": mean_ndcg(pages, 0),
        "all_as_shown": mean_ndcg(pages, 1),
    }


def _query(text: str, user: str | None):
    from shoplens.search.query import Query

    return Query(text=text, k=10, user=user)


def latency(engine, fb, n: int, seed: int) -> dict[str, Any]:
    """Distinct product titles as queries (never searched before: no cached query vectors), half with the
    ranker and half without, alternating which goes first."""
    rng = random.Random(seed + 1)
    titles = sorted({t for t in engine.reader.products.titles(range(len(fb.ids))).values() if t})
    rng.shuffle(titles)
    texts = titles[: 2 * n]
    engine.search_query(_query("warm up query", None))
    with_ms, without_ms, rerank_ms, cands = [], [], [], 0
    for i in range(0, len(texts) - 1, 2):
        pair = (
            [(texts[i], True), (texts[i + 1], False)]
            if (i // 2) % 2 == 0
            else [(texts[i], False), (texts[i + 1], True)]
        )
        for text, rr in pair:
            t = time.perf_counter()
            res = engine.search_query(_query(text, "sim-user-000"), rerank=rr)
            ms = (time.perf_counter() - t) * 1000
            (with_ms if rr else without_ms).append(ms)
            if rr:
                rerank_ms.append(res.timings_ms["rerank"])
                cands = max(cands, res.hits[0].ranker["fused_rank"] if res.hits else 0, engine.reranker.depth)
    return {
        "queries_per_mode": len(with_ms),
        "candidates": engine.reranker.depth,
        "search_p50_ms_with": C.pct(with_ms, 50),
        "search_p50_ms_without": C.pct(without_ms, 50),
        "search_p99_ms_with": C.pct(with_ms, 99),
        "search_p99_ms_without": C.pct(without_ms, 99),
        "rerank_p50_ms": C.pct(rerank_ms, 50),
        "rerank_p99_ms": C.pct(rerank_ms, 99),
    }


def taste_shift(engine, sim, shoppers, judged, held, train_q, args, ndcg, logged_search) -> dict[str, Any]:
    from shoplens.evaluate.simulate import COLOUR_FAMILIES, Shopper

    rotate = {"dark": "warm", "warm": "cool", "cool": "dark"}
    shifted = [
        Shopper(s.user_id, rotate[s.segment], {"baseColour": COLOUR_FAMILIES[rotate[s.segment]]}) for s in shoppers
    ]
    sjudged = shifted[: len(judged)]
    base = ndcg(sjudged, held, False)
    at_shift = ndcg(sjudged, held, True)
    print(f"taste shift: NDCG@10 held-out under the new tastes {at_shift:.4f} with the ranker, {base:.4f} without")
    blocks = []
    events = 0
    for b in range(args.shift_blocks):
        st = sim.run(logged_search, engine.record_events, shifted, train_q, args.shift_block)
        events += st.events
        live = ndcg(sjudged, held, True)
        upd = engine.train_ranker(incremental=True)
        after = ndcg(sjudged, held, True)
        blocks.append(
            {
                "sessions": (b + 1) * args.shift_block,
                "events_since_shift": events,
                "ndcg10_live_features": live,
                "ndcg10_after_incremental_update": after,
                "update_seconds": upd["seconds"]["total"],
            }
        )
        print(
            f"  after {(b + 1) * args.shift_block} sessions ({events} events) since the shift: NDCG@10 held-out "
            f"{live:.4f} (live features), {after:.4f} (after incremental update; without ranker {base:.4f})"
        )
    return {"ndcg10_without_ranker": base, "ndcg10_ranker_at_shift": at_shift, "blocks": blocks}


if __name__ == "__main__":
    main()
