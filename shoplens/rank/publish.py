"""Train (or update) a ranker from a store's log and publish it as the store's next version."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RankerSettings
from ..errors import ShoplensError
from .context import RankContext, from_saved, positions, saved
from .features import FEATURE_VERSION, feature_names
from .model import RankerModule, export_onnx, make_net
from .storage import current_version, fingerprint, publish, read_meta
from .train import TooLittleFeedback, constant_columns, train, update

log = logging.getLogger(__name__)


def _write(net: RankerModule, meta: dict[str, Any]) -> Callable[[Path], dict[str, Any]]:
    import torch

    def build(tmp: Path) -> dict[str, Any]:
        export_onnx(net, len(feature_names()), tmp / "model.onnx")
        torch.save(net.state_dict(), tmp / "state.pt")
        return meta

    return build


def train_and_publish(
    store: Path, manifest, reader, searcher, feedback, config: RankerSettings | None = None, incremental: bool = False
) -> dict[str, Any]:
    cfg = config or RankerSettings()
    vdir = current_version(store) if incremental else None
    if incremental and vdir is not None and config is None:  # keep the settings the ranker was trained with
        cfg = from_saved(read_meta(vdir).get("config", {}))
    ctx = RankContext(reader, searcher, cfg)
    fp = fingerprint(manifest)
    last_query = max((rid for rid, _ in feedback.queries()), default=0)
    common = {
        "fingerprint": fp,
        "feature_version": FEATURE_VERSION,
        "feature_names": feature_names(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "trained_through_query_row": last_query,
        "config": saved(cfg),
    }
    if incremental:
        import torch

        if vdir is None:
            raise TooLittleFeedback("no ranker to update yet; run `shoplens train-ranker` without --incremental first")
        old = read_meta(vdir)
        if old.get("fingerprint") != fp or old.get("feature_names") != feature_names():
            raise ShoplensError(f"{vdir}: the stored ranker does not fit this store's vectors; retrain it in full")
        n = len(feature_names())
        net = make_net(n, np.asarray(old["feature_mean"]), np.asarray(old["feature_std"]), cfg, positions(cfg))
        net.load_state_dict(torch.load(vdir / "state.pt"))
        net, metrics = update(feedback, ctx, net, int(old.get("trained_through_query_row", 0)))
        metrics = {
            **metrics,
            "incremental_of": old.get("version"),
            "validation": old.get("metrics", {}).get("validation"),
        }
        constant = list(old.get("constant_features", []))
    else:
        net, metrics, ex = train(feedback, ctx)
        constant = [feature_names()[i] for i in constant_columns(ex.x)]
    meta = {
        **common,
        "feature_mean": net.mean.tolist(),
        "feature_std": net.std.tolist(),
        # features the training log never varied (photo components in a log of text searches): serving
        # holds them at their training value rather than feed the net inputs it never learned from
        "constant_features": constant,
        "metrics": metrics,
    }
    path = publish(store, _write(net, meta))
    metrics["version"] = path.name
    metrics["path"] = str(path)
    log.info("ranker %s published at %s", path.name, path)
    return metrics
