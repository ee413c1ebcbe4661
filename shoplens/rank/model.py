"""The ranking network: an MLP over standardised features, trained in torch, served by ONNX Runtime.

Standardisation (the training rows' mean and std) is baked into the exported graph, so serving is
one ONNX call on raw features. The output is a logit; sigmoid(logit) is the predicted probability
that a shown candidate gets clicked (after position-bias correction).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..config import RankerSettings

if TYPE_CHECKING:
    import torch


class RankerModule(Protocol):
    """What training and publishing use of the net `make_net` builds. Its class is defined inside
    `make_net` so that importing this module does not import torch (serving needs only ONNX Runtime),
    which leaves callers no class to name."""

    mean: torch.Tensor
    std: torch.Tensor

    def __call__(self, x: torch.Tensor, position: torch.Tensor | None = None) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any: ...


def make_net(
    n_features: int, mean: np.ndarray, std: np.ndarray, cfg: RankerSettings, positions: int = 0
) -> RankerModule:
    """`positions` > 0 adds a learned logit per shown position (position-bias-aware learning, PAL: Guo
    et al., RecSys 2019): training explains clicks as relevance + where the product was shown, and
    serving (ONNX export, `net(x)` without positions) scores relevance alone."""
    import torch
    from torch import nn

    class RankerNet(nn.Module):
        mean: torch.Tensor  # buffers registered in __init__, declared for the type checker
        std: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
            layers: list[nn.Module] = []
            d = n_features
            for h in cfg.hidden:
                layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(cfg.dropout)]
                d = h
            layers.append(nn.Linear(d, 1))
            self.mlp = nn.Sequential(*layers)
            self.position_logit = nn.Embedding(positions, 1) if positions else None
            if self.position_logit is not None:
                nn.init.zeros_(self.position_logit.weight)

        def forward(self, x: torch.Tensor, position: torch.Tensor | None = None) -> torch.Tensor:
            logit = self.mlp((x - self.mean) / self.std).squeeze(-1)
            if position is not None and self.position_logit is not None:
                logit = logit + self.position_logit(position).squeeze(-1)
            return logit

    torch.manual_seed(cfg.seed)
    return RankerNet()


def fit(
    net: RankerModule,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    wv: np.ndarray,
    cfg: RankerSettings,
    max_epochs: int | None = None,
    pos: np.ndarray | None = None,
    posv: np.ndarray | None = None,
    group: np.ndarray | None = None,
    groupv: np.ndarray | None = None,
) -> dict:
    """Weighted BCE with Adam; keeps the weights of the epoch with the lowest validation loss and stops
    after `patience` epochs without improvement. `pos`/`posv`: shown positions, for a net with a
    position term (PAL). `group`/`groupv`: each row's search, for the listwise term (`cfg.listwise`; then
    minibatches hold whole searches). Returns {epochs, best_epoch, val_loss}."""
    import torch

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    X, Y, W = (torch.as_tensor(a, dtype=torch.float32) for a in (x, y, w))
    XV, YV, WV = (torch.as_tensor(a, dtype=torch.float32) for a in (xv, yv, wv))
    P = torch.as_tensor(pos, dtype=torch.long) if pos is not None else None
    PV = torch.as_tensor(posv, dtype=torch.long) if posv is not None else None
    listwise = cfg.listwise > 0 and group is not None
    G = torch.as_tensor(group, dtype=torch.long) if listwise and group is not None else None
    GV = torch.as_tensor(groupv, dtype=torch.long) if listwise and groupv is not None else None
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    g = torch.Generator().manual_seed(cfg.seed)

    # "dual": the click model (relevance + position term) learns every click at weight 1 while the
    # relevance part alone also learns them inverse-propensity weighted (ww)
    dual = cfg.position_bias == "dual" and P is not None

    def loss_of(xx, pp, yy, ww, gg):
        out = net(xx, pp)
        if dual:
            rel = net(xx)
            loss = loss_fn(out, yy).mean() + (loss_fn(rel, yy) * ww).sum() / ww.sum()
        else:
            rel = out
            loss = (loss_fn(out, yy) * ww).sum() / ww.sum()
        if gg is not None:
            loss = loss + cfg.listwise * _listwise(torch, rel, yy * ww, gg)
        return loss

    best, best_state, best_epoch, bad = float("inf"), None, 0, 0
    epochs = max_epochs or cfg.max_epochs
    e = 0
    for e in range(1, epochs + 1):
        net.train()
        for idx in _batches(torch, len(X), group if listwise else None, cfg.batch_size, g):
            opt.zero_grad()
            pb = P[idx] if P is not None else None
            loss = loss_of(X[idx], pb, Y[idx], W[idx], G[idx] if G is not None else None)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            vl = float(loss_of(XV, PV, YV, WV, GV)) if len(XV) else float(loss)
        if vl < best - 1e-5:
            best, best_epoch, bad = vl, e, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return {"epochs": e, "best_epoch": best_epoch, "val_loss": best}


def _batches(torch, n: int, group: np.ndarray | None, size: int, gen) -> list:
    """Row minibatches in random order; with `group`, whole searches per batch (about `size` rows)."""
    if group is None:
        perm = torch.randperm(n, generator=gen)
        return [perm[i : i + size] for i in range(0, n, size)]
    _, inv, counts = np.unique(group, return_inverse=True, return_counts=True)
    rows_of = np.split(np.argsort(inv, kind="stable"), np.cumsum(counts)[:-1])
    out, cur, k = [], [], 0
    for q in torch.randperm(len(rows_of), generator=gen).tolist():
        cur.append(rows_of[q])
        k += len(rows_of[q])
        if k >= size:
            out.append(torch.as_tensor(np.concatenate(cur)))
            cur, k = [], 0
    if cur:
        out.append(torch.as_tensor(np.concatenate(cur)))
    return out


def _listwise(torch, logit, target, group):
    """Softmax cross-entropy of each search's logits against its (weighted) clicks, averaged by weight."""
    _, gid = torch.unique(group, return_inverse=True)
    k = int(gid.max()) + 1
    m = torch.zeros(k).scatter_reduce(0, gid, logit.detach(), "amax", include_self=False)
    z = torch.zeros(k).index_add(0, gid, torch.exp(logit - m[gid]))
    logp = logit - m[gid] - torch.log(z[gid])
    return -(target * logp).sum() / target.sum().clamp(min=1e-6)


def predict(net: RankerModule, x: np.ndarray, pos: np.ndarray | None = None) -> np.ndarray:
    """Relevance logits; with `pos`, click logits (relevance + position term) of a PAL net."""
    import torch

    with torch.no_grad():
        p = torch.as_tensor(pos, dtype=torch.long) if pos is not None else None
        return net(torch.as_tensor(x, dtype=torch.float32), p).numpy()


def export_onnx(net: RankerModule, n_features: int, path: Path) -> None:
    import warnings

    import torch

    dummy = torch.zeros(2, n_features, dtype=torch.float32)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(torch, net, dummy, path)


def _export(torch, net, dummy, path: Path) -> None:
    torch.onnx.export(
        net,
        (dummy,),
        str(path),
        input_names=["features"],
        output_names=["logit"],
        dynamic_axes={"features": {0: "n"}, "logit": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


class OnnxScorer:
    """One ONNX Runtime session, created once when the ranker is opened (single-threaded: a re-rank is
    a few hundred rows, where thread hand-offs cost more than they save)."""

    def __init__(self, path: Path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: np.ascontiguousarray(x, dtype=np.float32)})[0]
