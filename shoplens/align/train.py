"""Contrastive training of the alignment heads over cached encoder features.

Everything here works on numpy arrays already produced by the (frozen)
encoders, so training a store's heads costs seconds to a few minutes on two
cores and never re-encodes an image or a caption. Torch is imported only
inside `train_heads`.

Loss: symmetric multi-positive InfoNCE with a learnable temperature. A batch
holds B products (image side) and one caption per product (text side): its
title, an attribute caption ("black shoes for men", "男士 黑色 运动鞋"), or
the title of a text-only product with the same type/colour/gender. A caption
is positive for every image in the batch that agrees with what it says
(title: the same title; attribute caption / text-only title: all attributes
it mentions), so shared-attribute products are not pushed apart. Optional
multi-task classifiers predict type/colour/gender from the image embedding.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..encoders.openmp import import_torch
from .attribute_mlp import fit_attribute_mlp
from .config import AlignConfig
from .heads import Heads, Tower, ensemble_heads

log = logging.getLogger(__name__)


@dataclass
class AlignData:
    """Training material, all as arrays aligned by index.

    Products: rows of `image` (only products with an image). Captions: rows of
    `text`. `cap_kind[j]` is 0 for a title of product `cap_owner[j]`, 1 for an
    attribute caption (constraint `cap_attr[j]`, -1 = not mentioned) and 2
    for a text-only product's title (same as 1 for positives).
    """

    image: dict[str, np.ndarray]  # name -> (N, d)
    text: dict[str, np.ndarray]  # name -> (T, d)
    product_ids: list[str]
    attr: np.ndarray  # (N, F) int, -1 unknown
    fields: tuple[str, ...]  # F lexicon fields
    classes: dict[str, list[str]]  # field -> class names (attr ids index these)
    title_cap: np.ndarray  # (N,) caption row of the product's title, -1 none
    title_group: np.ndarray  # (N,) id of the title string, -1 none
    attr_caps: list[np.ndarray]  # per product: attribute-caption rows it is positive for
    text_only_caps: list[np.ndarray]  # per product: text-only-title rows with its combo
    cap_kind: np.ndarray  # (T,)
    cap_attr: np.ndarray  # (T, F)
    cap_group: np.ndarray  # (T,) title group for kind 0, else -1
    input_fingerprints: dict[str, str] = field(default_factory=dict)
    caption_texts: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.product_ids)

    def pairs(self) -> np.ndarray:
        """Indices of products with both an image and a title (the image-text pairs)."""
        return np.flatnonzero(self.title_cap >= 0)


# --------------------------------------------------------------------------- metrics


def retrieval_metrics(
    queries: np.ndarray, gallery: np.ndarray, q_group: np.ndarray, g_group: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """R@k and MRR where a gallery row is correct if its group equals the query's
    (group = identical title, so duplicates count as found)."""
    sims = queries @ gallery.T
    correct = q_group[:, None] == g_group[None, :]
    best_correct = np.where(correct, sims, -np.inf).max(axis=1)
    # rank of the first correct item = 1 + number of wrong items scoring strictly higher
    rank = 1 + ((sims > best_correct[:, None]) & ~correct).sum(axis=1)
    out = {f"R@{k}": float(np.mean(rank <= k)) for k in ks}
    out["MRR"] = float(np.mean(1.0 / rank))
    out["n"] = int(len(rank))
    return out


def evaluate_pairs(heads: Heads, data: AlignData, idx: np.ndarray) -> dict[str, Any]:
    """Title<->image retrieval among the products `idx` (validation slice)."""
    idx = np.asarray([i for i in idx if data.title_cap[i] >= 0], dtype=int)
    if len(idx) == 0:
        return {}
    img = heads.embed_image({k: v[idx] for k, v in data.image.items() if k in heads.image_inputs})
    rows = data.title_cap[idx]
    txt = heads.embed_text({k: v[rows] for k, v in data.text.items() if k in heads.text_inputs})
    grp = data.title_group[idx]
    return {
        "text_to_image": retrieval_metrics(txt, img, grp, grp),
        "image_to_text": retrieval_metrics(img, txt, grp, grp),
    }


# --------------------------------------------------------------------------- training


def _concat(feats: Mapping[str, np.ndarray], names: Sequence[str], rows=None) -> list[np.ndarray]:
    return [np.asarray(feats[n] if rows is None else feats[n][rows], np.float32) for n in names]


def _norm_stats(mats: list[np.ndarray]) -> tuple[list[np.ndarray], list[float]]:
    means, scales = [], []
    for m in mats:
        present = np.abs(m).sum(axis=1) > 0
        x = m[present] if present.any() else m
        mu = x.mean(axis=0).astype(np.float32)
        sq = float(np.mean(np.sum((x - mu) ** 2, axis=1))) if len(x) else 1.0
        means.append(mu)
        scales.append(1.0 / math.sqrt(max(sq, 1e-8)))
    return means, scales


def _sample_captions(rng: np.random.Generator, data: AlignData, batch: np.ndarray, cfg: AlignConfig) -> np.ndarray:
    caps = np.empty(len(batch), dtype=np.int64)
    for k, i in enumerate(batch):
        r = rng.random()
        has_title = data.title_cap[i] >= 0
        has_attr = len(data.attr_caps[i]) > 0 and cfg.attribute_captions
        has_to = len(data.text_only_caps[i]) > 0 and cfg.text_only_prob > 0
        if has_to and r < cfg.text_only_prob:
            caps[k] = data.text_only_caps[i][rng.integers(len(data.text_only_caps[i]))]
        elif has_title and (not has_attr or r < cfg.text_only_prob * has_to + cfg.title_prob):
            caps[k] = data.title_cap[i]
        elif has_attr:
            caps[k] = data.attr_caps[i][rng.integers(len(data.attr_caps[i]))]
        elif has_to:
            caps[k] = data.text_only_caps[i][rng.integers(len(data.text_only_caps[i]))]
        else:
            caps[k] = -1
    return caps


def _batches(rng: np.random.Generator, idx: np.ndarray, data: AlignData, cfg: AlignConfig) -> list[np.ndarray]:
    perm = idx[rng.permutation(len(idx))]
    bs = max(2, min(cfg.batch_size, len(idx)))
    out = [perm[s : s + bs] for s in range(0, len(perm), bs)]
    if len(out) > 1 and len(out[-1]) < bs // 4:
        last = out.pop()  # (out[-2] = concat(out[-2], out.pop()) would assign to the wrong slot)
        out[-1] = np.concatenate([out[-1], last])
    if cfg.hard_negatives > 0 and "type" in data.fields:
        # Some batches are drawn from a handful of product types: many near-duplicates
        # (same kind of item, other colour / gender / model) to tell apart.
        tcol = data.fields.index("type")
        types = data.attr[idx, tcol]
        by_type = {t: idx[types == t] for t in np.unique(types)}
        keys = [t for t in by_type if len(by_type[t]) >= 8]
        for b in range(len(out)):
            if keys and rng.random() < cfg.hard_negatives:
                chosen = rng.choice(keys, size=min(4, len(keys)), replace=False)
                pool = np.concatenate([by_type[t] for t in chosen])
                out[b] = pool[rng.permutation(len(pool))[:bs]]
    return out


def _title_nce(logits, pos, is_title):
    """Symmetric InfoNCE over the title captions of a batch and the photos (positives = the same
    title); 0 when fewer than two titles are in the batch."""
    import torch

    rows = torch.nonzero(is_title).flatten()
    if len(rows) < 2:
        return logits.new_zeros(())
    lg, ps = logits[rows], pos[rows]
    cols = ps.any(0)  # photos whose title is in the batch
    lg, ps = lg[:, cols], ps[:, cols]
    neg_inf = torch.finfo(lg.dtype).min
    t2i = (torch.logsumexp(lg, 1) - torch.logsumexp(lg.masked_fill(~ps, neg_inf), 1)).mean()
    i2t = (torch.logsumexp(lg.T, 1) - torch.logsumexp(lg.T.masked_fill(~ps.T, neg_inf), 1)).mean()
    return 0.5 * (t2i + i2t)


def split_pairs(data: AlignData, cfg: AlignConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) product indices: a seeded `val_fraction` of the image-title pairs
    (at least `min_val`, at most half) is held out."""
    pairs = data.pairs()
    rng = np.random.default_rng(cfg.seed)
    n_val = max(cfg.min_val, int(round(cfg.val_fraction * len(pairs)))) if cfg.val_fraction > 0 else 0
    n_val = min(n_val, len(pairs) // 2)
    val_idx = np.sort(rng.choice(pairs, size=n_val, replace=False)) if n_val else np.zeros(0, int)
    return np.setdiff1d(np.arange(data.n), val_idx), val_idx


def train_heads(
    data: AlignData,
    config: AlignConfig | None = None,
    *,
    train_idx: np.ndarray | None = None,
    val_idx: np.ndarray | None = None,
    progress: bool = True,
) -> tuple[Heads, dict[str, Any]]:
    """Train heads on `data` and return (heads, metrics).

    Without explicit indices, a seeded `val_fraction` of the image-title pairs
    is held out for the reported metrics; if `refit_full`, the returned heads
    are then retrained on everything with the same recipe and epoch count.
    """
    cfg = config or AlignConfig()
    t0 = time.perf_counter()
    pairs = data.pairs()
    if train_idx is None:
        train_idx, val_idx = split_pairs(data, cfg)
    train_idx = np.asarray(train_idx, int)
    val_idx = np.asarray(val_idx if val_idx is not None else [], int)

    refit = bool(cfg.refit_full and len(val_idx))
    prefit: list[tuple[Heads, list[dict[str, Any]]]] = []
    if cfg.workers > 1:
        phases = [(train_idx, val_idx, "train")]
        if refit:
            phases.append((np.arange(data.n), np.zeros(0, int), "refit (all pairs)"))
        prefit = _fit_parallel(data, cfg, phases)
    heads, history = prefit[0] if prefit else _fit_ensemble(data, cfg, train_idx, val_idx, progress, "train")
    fit_attribute_classifiers(heads, data, train_idx, cfg)
    if not refit:  # the refit heads get their own MLP; the validation metrics do not read it
        fit_raw_attribute_mlp(heads, data, train_idx, cfg)
    metrics: dict[str, Any] = {
        "validation": evaluate_pairs(heads, data, val_idx) if len(val_idx) else {},
        "history": history,
        "train_products": int(len(train_idx)),
        "val_products": int(len(val_idx)),
        "pairs": int(len(pairs)),
        "captions": int(len(data.cap_kind)),
    }
    if len(val_idx) and heads.classifiers:
        metrics["validation"]["attribute_accuracy"] = attribute_accuracy(heads, data, val_idx)
    if refit:
        heads, _ = (
            prefit[1]
            if prefit
            else _fit_ensemble(data, cfg, np.arange(data.n), np.zeros(0, int), progress, "refit (all pairs)")
        )
        fit_attribute_classifiers(heads, data, np.arange(data.n), cfg)
        fit_raw_attribute_mlp(heads, data, np.arange(data.n), cfg)
        metrics["refit_full"] = True
    metrics["seconds"] = round(time.perf_counter() - t0, 2)
    heads.meta.setdefault("metrics", {}).update({k: v for k, v in metrics.items() if k != "history"})
    return heads, metrics


def fit_attribute_classifiers(heads: Heads, data: AlignData, idx: np.ndarray, cfg: AlignConfig) -> None:
    """Replace `heads.classifiers` by softmax regressions fitted on the final image embedding of
    the products `idx` (full-batch L-BFGS, L2 penalty |W|^2 / (2 C), as sklearn's
    LogisticRegression). A no-op when `cfg.classifier_c <= 0` (the jointly trained ones stay)."""
    if cfg.classifier_c <= 0:
        return
    torch = import_torch()
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    idx = np.asarray(idx, int)
    emb = heads.embed_image({n: data.image[n][idx] for n in heads.image_inputs})
    present = np.abs(emb).sum(axis=1) > 0
    fitted = {}
    for fld in cfg.multitask_fields:
        if fld not in data.fields:
            continue
        y = data.attr[idx, data.fields.index(fld)]
        ok = present & (y >= 0)
        classes = list(data.classes[fld])
        if ok.sum() < 2 or len(np.unique(y[ok])) < 2:
            continue
        X = torch.from_numpy(emb[ok].astype(np.float32))
        Y = torch.from_numpy(y[ok].astype(np.int64))
        W = torch.zeros(X.shape[1], len(classes), requires_grad=True)
        b = torch.zeros(len(classes), requires_grad=True)
        opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=300, history_size=20, line_search_fn="strong_wolfe")
        penalty = 1.0 / (2.0 * cfg.classifier_c)

        def closure(opt=opt, X=X, Y=Y, W=W, b=b, penalty=penalty):  # bound now: runs inside this iteration
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(X @ W + b, Y, reduction="sum") + penalty * (W * W).sum()
            loss.backward()
            return loss

        opt.step(closure)
        fitted[fld] = (classes, W.detach().numpy().copy(), b.detach().numpy().copy())
    if fitted:
        heads.classifiers = fitted
        heads.meta["classifier_fit"] = {
            "fit": "softmax regression on the image embedding",
            "C": cfg.classifier_c,
            "products": int(present.sum()),
        }


def fit_raw_attribute_mlp(heads: Heads, data: AlignData, idx: np.ndarray, cfg: AlignConfig) -> None:
    """Set `heads.attribute_mlp`: classifiers of `cfg.multitask_fields` on the raw image inputs of
    the products `idx`. A no-op when `cfg.attribute_mlp_hidden <= 0` or no field has two classes."""
    if cfg.attribute_mlp_hidden <= 0:
        return
    idx = np.asarray(idx, int)
    parts = {n: data.image[n][idx] for n in heads.image_inputs}
    present = np.zeros(len(idx), bool)
    for m in parts.values():
        present |= np.abs(m).sum(axis=1) > 0
    labels = {}
    for fld in cfg.multitask_fields:
        if fld not in data.fields:
            continue
        y = np.where(present, data.attr[idx, data.fields.index(fld)], -1)
        if len(np.unique(y[y >= 0])) >= 2:
            labels[fld] = (list(data.classes[fld]), y)
    if not labels or present.sum() < 2:
        return
    heads.attribute_mlp = fit_attribute_mlp(
        {n: m[present] for n, m in parts.items()},
        {f: (c, y[present]) for f, (c, y) in labels.items()},
        hidden=cfg.attribute_mlp_hidden,
        epochs=cfg.attribute_mlp_epochs,
        seeds=cfg.attribute_mlp_seeds,
        threads=cfg.threads,
    )


def attribute_accuracy(heads: Heads, data: AlignData, idx: np.ndarray) -> dict[str, float]:
    """Top-1 accuracy of the heads' attribute classifiers on the products `idx` (labelled ones only)."""
    idx = np.asarray(idx, int)
    emb = heads.embed_image({n: data.image[n][idx] for n in heads.image_inputs})
    pred = heads.predict_attributes(emb)
    out = {}
    for fld, (classes, _W, _b) in heads.classifiers.items():
        if fld not in data.fields:
            continue
        y = data.attr[idx, data.fields.index(fld)]
        ok = y >= 0
        if ok.any():
            hits = [pred[k].get(fld, ("",))[0] == classes[y[k]] for k in np.flatnonzero(ok)]
            out[fld] = round(float(np.mean(hits)), 4)
    return out


_WORKER_DATA: AlignData | None = None


def _worker_init(data: AlignData) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data


def _worker_fit(cfg: AlignConfig, train_idx, val_idx, desc: str):
    assert _WORKER_DATA is not None
    return _fit(_WORKER_DATA, cfg, train_idx, val_idx, False, desc)


def _fit_parallel(
    data: AlignData, cfg: AlignConfig, phases: list[tuple[np.ndarray, np.ndarray, str]]
) -> list[tuple[Heads, list[dict[str, Any]]]]:
    """`_fit_ensemble` for each phase, every member of every phase in its own process (spawned:
    torch's thread pools do not survive a fork); the data goes to each worker once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    k = max(1, int(cfg.ensemble))
    jobs = [(p, m) for p in range(len(phases)) for m in range(k)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(cfg.workers, len(jobs)), ctx, _worker_init, (data,)) as pool:
        futs = {
            (p, m): pool.submit(_worker_fit, cfg.member(m), phases[p][0], phases[p][1], phases[p][2]) for p, m in jobs
        }
        done = {j: f.result() for j, f in futs.items()}
    out = []
    for p in range(len(phases)):
        if k == 1:
            out.append(done[(p, 0)])
            continue
        members = [done[(p, m)][0] for m in range(k)]
        history = [{"member": m + 1, **r} for m in range(k) for r in done[(p, m)][1]]
        heads = ensemble_heads(members, cfg.member_roles())
        heads.meta.update({"recipe": cfg.to_json(), "seed": cfg.seed})
        out.append((heads, history))
    log.info("trained %d heads in %d processes", len(jobs), min(cfg.workers, len(jobs)))
    return out


def _fit_ensemble(
    data: AlignData,
    cfg: AlignConfig,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    progress: bool,
    desc: str,
) -> tuple[Heads, list[dict[str, Any]]]:
    """`cfg.ensemble` heads trained with seeds seed, seed+1, ... on the same split, combined by
    `ensemble_heads` (one wider unit vector). The recipe recorded is `cfg` (base seed)."""
    k = max(1, int(cfg.ensemble))
    if k == 1:
        return _fit(data, cfg, train_idx, val_idx, progress, desc)
    members, history = [], []
    for m in range(k):
        h, hist = _fit(data, cfg.member(m), train_idx, val_idx, progress, f"{desc}, head {m + 1}/{k}")
        members.append(h)
        history += [{"member": m + 1, **r} for r in hist]
    heads = ensemble_heads(members, cfg.member_roles())
    heads.meta.update({"recipe": cfg.to_json(), "seed": cfg.seed})
    return heads, history


def _fit(
    data: AlignData,
    cfg: AlignConfig,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    progress: bool,
    desc: str,
) -> tuple[Heads, list[dict[str, Any]]]:
    from tqdm.auto import tqdm

    import_torch()  # the first torch import sets its OpenMP policy; this one then reads sys.modules
    import torch

    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)

    img_names = [n for n in cfg.image_inputs if n in data.image]
    txt_names = [n for n in cfg.text_inputs if n in data.text]
    if not img_names or not txt_names:
        raise ValueError(f"no features for heads inputs: image {cfg.image_inputs} / text {cfg.text_inputs}")

    # Products usable for training: an image and at least one caption.
    usable = np.array(
        [
            (data.title_cap[i] >= 0)
            or (cfg.attribute_captions and len(data.attr_caps[i]) > 0)
            or (cfg.text_only_prob > 0 and len(data.text_only_caps[i]) > 0)
            for i in range(data.n)
        ],
        bool,
    )
    train_idx = train_idx[usable[train_idx]]
    if len(train_idx) < 2:
        raise ValueError("fewer than 2 products with an image and a caption to train on")

    img_mats = _concat(data.image, img_names)
    txt_mats = _concat(data.text, txt_names)
    i_means, i_scales = _norm_stats([m[train_idx] for m in img_mats])
    # text statistics over the captions training will see (titles + attribute captions)
    t_means, t_scales = _norm_stats(txt_mats)
    X_img = torch.from_numpy(np.concatenate([(m - mu) * s for m, mu, s in zip(img_mats, i_means, i_scales)], 1))
    X_txt = torch.from_numpy(np.concatenate([(m - mu) * s for m, mu, s in zip(txt_mats, t_means, t_scales)], 1))
    A = torch.from_numpy(data.attr.astype(np.int64))
    CA = torch.from_numpy(data.cap_attr.astype(np.int64))
    CK = torch.from_numpy(data.cap_kind.astype(np.int64))
    CG = torch.from_numpy(data.cap_group.astype(np.int64))
    TG = torch.from_numpy(data.title_group.astype(np.int64))

    dim = cfg.dim

    class Side(torch.nn.Module):
        def __init__(self, d_in: int):
            super().__init__()
            self.lin = torch.nn.Linear(d_in, dim)
            self.block: torch.nn.Sequential | None = None
            if cfg.block_hidden > 0:
                # Layers made in this order so the seeded initialisation stays the same.
                expand, act = torch.nn.Linear(dim, cfg.block_hidden), torch.nn.GELU(approximate="tanh")
                project = torch.nn.Linear(cfg.block_hidden, dim)
                torch.nn.init.zeros_(project.weight)
                torch.nn.init.zeros_(project.bias)
                self.block = torch.nn.Sequential(expand, act, project)
            self.drop = torch.nn.Dropout(cfg.input_dropout)

        def forward(self, x):
            z = self.lin(self.drop(x))
            if self.block is not None:
                z = z + self.block(z)
            return torch.nn.functional.normalize(z, dim=-1)

    img_side, txt_side = Side(X_img.shape[1]), Side(X_txt.shape[1])
    log_scale = torch.nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)), requires_grad=cfg.learn_temperature)
    mt_fields = [f for f in cfg.multitask_fields if f in data.fields] if cfg.multitask_weight > 0 else []
    classifiers = torch.nn.ModuleDict({"f_" + f: torch.nn.Linear(dim, len(data.classes[f])) for f in mt_fields})
    params = list(img_side.parameters()) + list(txt_side.parameters()) + list(classifiers.parameters())
    groups: list[dict[str, Any]] = [{"params": params}, {"params": [log_scale], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train_idx) / max(2, min(cfg.batch_size, len(train_idx)))))
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total)))
    )

    history: list[dict[str, Any]] = []
    step = 0
    bar = tqdm(total=cfg.epochs, desc=f"align {desc}", unit="epoch", disable=None if progress else True, leave=False)
    for epoch in range(cfg.epochs):
        img_side.train(), txt_side.train()
        losses = []
        for batch in _batches(rng, train_idx, data, cfg):
            if cfg.captions_per_product >= 2:
                # two captions per product: its title and an attribute caption (each falls back to
                # the other kind when the product lacks one)
                caps = np.concatenate(
                    [
                        _sample_captions(rng, data, batch, cfg.with_(title_prob=1.0)),
                        _sample_captions(rng, data, batch, cfg.with_(title_prob=0.0)),
                    ]
                )
                owner = np.concatenate([np.arange(len(batch)), np.arange(len(batch))])
            else:
                caps = _sample_captions(rng, data, batch, cfg)
                owner = np.arange(len(batch))
            has = np.zeros(len(batch), bool)
            has[owner[caps >= 0]] = True
            if has.sum() < 2:
                continue
            # drop products without any caption (and renumber caption owners)
            new = np.cumsum(has) - 1
            keep = (caps >= 0) & has[owner]
            batch, caps, owner = batch[has], caps[keep], new[owner[keep]]
            bt, ct = torch.from_numpy(batch), torch.from_numpy(caps)
            zi = img_side(X_img[bt])
            zt = txt_side(X_txt[ct])
            logits = log_scale.clamp(max=math.log(100.0)).exp() * zt @ zi.T  # (captions, images)
            # positives: titles -> same title; attribute / text-only captions -> all stated attributes agree
            ca, ai = CA[ct][:, None, :], A[bt][None, :, :]
            attr_ok = ((ca < 0) | (ca == ai)).all(-1)
            title_ok = (CG[ct][:, None] == TG[bt][None, :]) & (CG[ct][:, None] >= 0)
            pos = torch.where((CK[ct] == 0)[:, None], title_ok, attr_ok)
            pos[torch.arange(len(ct)), torch.from_numpy(owner)] = True  # a caption always fits its own product
            neg_inf = torch.finfo(logits.dtype).min
            t2i = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~pos, neg_inf), 1)).mean()
            i2t = (torch.logsumexp(logits.T, 1) - torch.logsumexp(logits.T.masked_fill(~pos.T, neg_inf), 1)).mean()
            loss = 0.5 * (t2i + i2t)
            if cfg.title_loss_weight > 0:
                loss = loss + cfg.title_loss_weight * _title_nce(logits, pos, CK[ct] == 0)
            for f in mt_fields:
                y = A[bt][:, data.fields.index(f)]
                if (y >= 0).any():
                    loss = loss + cfg.multitask_weight * torch.nn.functional.cross_entropy(
                        classifiers["f_" + f](zi), y, ignore_index=-1
                    )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            losses.append(float(loss.detach()))
        rec: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": round(float(np.mean(losses)) if losses else float("nan"), 4),
            "temperature": round(float(1.0 / log_scale.detach().exp()), 4),
        }
        last = epoch + 1 == cfg.epochs
        if len(val_idx) and (last or (epoch + 1) % max(1, cfg.epochs // 5) == 0):
            h = _export(
                img_side, txt_side, classifiers, img_names, txt_names, i_means, i_scales, t_means, t_scales, data, cfg
            )
            ev = evaluate_pairs(h, data, val_idx)
            rec["val_t2i_R@10"] = round(ev["text_to_image"]["R@10"], 4)
            rec["val_i2t_R@10"] = round(ev["image_to_text"]["R@10"], 4)
            rec["val_t2i_MRR"] = round(ev["text_to_image"]["MRR"], 4)
            bar.set_postfix(loss=rec["loss"], t2i_R10=rec["val_t2i_R@10"])
            log.info(
                "  epoch %d/%d: loss %s, val title->image R@10 %s, image->title R@10 %s",
                epoch + 1,
                cfg.epochs,
                rec["loss"],
                rec["val_t2i_R@10"],
                rec["val_i2t_R@10"],
            )
        else:
            bar.set_postfix(loss=rec["loss"])
        history.append(rec)
        bar.update(1)
    bar.close()
    heads = _export(
        img_side, txt_side, classifiers, img_names, txt_names, i_means, i_scales, t_means, t_scales, data, cfg
    )
    return heads, history


def _export(
    img_side,
    txt_side,
    classifiers,
    img_names,
    txt_names,
    i_means,
    i_scales,
    t_means,
    t_scales,
    data: AlignData,
    cfg: AlignConfig,
) -> Heads:
    def tower(side, names, means, scales, mats_dims):
        W = side.lin.weight.detach().numpy().T.copy()
        b = side.lin.bias.detach().numpy().copy()
        block = None
        if side.block is not None:
            block = {
                "W1": side.block[0].weight.detach().numpy().T.copy(),
                "b1": side.block[0].bias.detach().numpy().copy(),
                "W2": side.block[2].weight.detach().numpy().T.copy(),
                "b2": side.block[2].bias.detach().numpy().copy(),
            }
        return Tower(list(names), mats_dims, [m.copy() for m in means], list(scales), W, b, block)

    img = tower(img_side, img_names, i_means, i_scales, [int(data.image[n].shape[1]) for n in img_names])
    txt = tower(txt_side, txt_names, t_means, t_scales, [int(data.text[n].shape[1]) for n in txt_names])
    cls = {
        f[2:]: (list(data.classes[f[2:]]), m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
        for f, m in classifiers.items()
    }
    fps = {n: data.input_fingerprints[n] for n in list(img_names) + list(txt_names) if n in data.input_fingerprints}
    return Heads(
        image=img,
        text=txt,
        dim=cfg.dim,
        text_mode=cfg.text_mode,
        input_fingerprints=fps,
        classifiers=cls,
        meta={"recipe": cfg.to_json(), "seed": cfg.seed},
    )


def untrained_heads(data: AlignData, config: AlignConfig | None = None) -> Heads:
    """Random-init heads with the same inputs and normalisation (the baseline tests compare against)."""
    cfg = (config or AlignConfig()).with_(epochs=0, refit_full=False, val_fraction=0.0)
    heads, _ = _fit(data, cfg, np.arange(data.n), np.zeros(0, int), False, "init")
    return heads
