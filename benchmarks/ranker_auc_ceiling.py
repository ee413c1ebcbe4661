"""The best click-prediction ROC-AUC any ranker could reach on a bench_ranker.py log: the simulator's own
P(click) (examination 0.8^position x P(click | grade), noise included) scored on the same held-out
events `train-ranker` validates on (the newest 20% of the clicked searches, their first 10 positions).

Run after bench_ranker.py on the same store and seed (it reads that store's feedback log):
    .venv/bin/python benchmarks/ranker_auc_ceiling.py --store benchmarks/out/stores/ranker_1200 --seed 0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shoppers", type=int, default=30)
    ap.add_argument("--val-fraction", type=float, default=0.2)
    args = ap.parse_args(argv)

    from shoplens.evaluate.metrics import roc_auc
    from shoplens.evaluate.simulate import ClickModel, Simulator, make_queries, make_shoppers
    from shoplens.feedback.log import FeedbackLog
    from shoplens.rank.features import FeatureBuilder
    from shoplens.store.reader import StoreReader

    reader = StoreReader(args.store, C.engine_config().index)
    fb = FeatureBuilder(reader)
    products = {pid: fb.attrs[d] for d, pid in enumerate(fb.ids)}
    queries = {q.text: q for q in make_queries(products, min_relevant=5)}
    shoppers = {s.user_id: s for s in make_shoppers(args.shoppers, seed=args.seed)}
    sim, m = Simulator(products), ClickModel()
    flog = FeedbackLog(args.store)
    clicked: dict[str, set[str]] = {}
    for _, ev in flog.events():
        if ev.action_name == "click" and ev.query_id and ev.object_id:
            clicked.setdefault(ev.query_id, set()).add(ev.object_id)
    searches = [
        q
        for _, q in sorted(flog.queries(), key=lambda t: (t[1].timestamp, t[0]))
        if q.user_query in queries and any(h in clicked.get(q.query_id, ()) for h in q.hit_ids[:10])
    ]
    val = searches[len(searches) - max(1, round(len(searches) * args.val_fraction)) :]
    y, p_true, p_pos = [], [], []
    for q in val:
        shopper = shoppers[q.user_id or ""]
        for pos, pid in enumerate(q.hit_ids[:10]):
            g = sim.grade(queries[q.user_query or ""], shopper, pid)
            appeal = m.p_click[g] + (1 - m.p_click[g]) * m.noise
            y.append(pid in clicked[q.query_id])
            p_true.append(m.examined(pos) * appeal)
            p_pos.append(m.examined(pos))
    out = {"searches": len(val), "events": len(y), "roc_auc_true_click_probability": roc_auc(y, p_true)}
    out["roc_auc_true_examination_alone"] = roc_auc(y, p_pos)
    print(
        f"{args.store}: {out['searches']} held-out searches, {out['events']} events; ROC-AUC of the simulator's "
        f"own P(click) {out['roc_auc_true_click_probability']:.4f} (the ceiling); its examination alone "
        f"{out['roc_auc_true_examination_alone']:.4f}; chance 0.5"
    )
    reader.close()
    return out


if __name__ == "__main__":
    main()
