"""Align a store: build training data from its cached features, train, validate, save.

`align_store` is what `shoplens align --store DIR` (and `index`, when the
catalog has enough image-text pairs) calls. Captions are encoded through the
store's FeatureCache, so retraining never re-encodes anything.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shoplens.preprocess.field_map import infer_field_map
from shoplens.records import Product

from ..errors import TooFewPairs  # noqa: F401  (re-exported)
from ..fsutil import write_atomic
from .captions import CAPTION_FIELDS, captions_for_products, product_attributes
from .config import AlignConfig
from .heads import CURRENT_FILE, Heads, HeadsError, default_heads_path
from .train import AlignData, evaluate_pairs, split_pairs, train_heads

log = logging.getLogger(__name__)


def count_pairs(featureset) -> int:
    has_title = np.array([bool(p.title) for p in featureset.products], bool)
    return int(np.sum(np.asarray(featureset.has_image, bool) & has_title))


def store_image_inputs(cfg: AlignConfig, encoders: Mapping[str, Any]) -> AlignConfig:
    """Heads of the default recipe read the image encoders the store has: a store that opted into
    another CNN (`[encoders] image`, e.g. efficientnet_lite2) trains on it instead of failing on the
    recipe's default inputs. A recipe that names its own `image_inputs` keeps them."""
    image = tuple(n for n, e in encoders.items() if getattr(e, "modality", None) == "image")
    if not image or cfg.image_inputs != AlignConfig().image_inputs:
        return cfg
    return cfg.with_(image_inputs=image)


def check_pairs(featureset, config: AlignConfig | None = None) -> tuple[bool, str]:
    """(enough?, message) — the message is fit to show a user either way."""
    cfg = config or AlignConfig()
    n = count_pairs(featureset)
    if n < cfg.min_pairs:
        return False, (
            f"alignment skipped: the catalog has {n} products with both a photo and a title, "
            f"fewer than the {cfg.min_pairs} needed to train its own text-image heads; "
            f"search keeps using the default heads shipped with shoplens"
        )
    return True, f"{n} image-title pairs: training text-image heads on this catalog"


def _field_map(products: Sequence[Product]) -> dict[str, str]:
    """For callers without a store (benchmarks, tests); a store's own map is in its manifest."""
    values: dict[str, set[str]] = {}
    for p in products:
        for k, v in (p.attributes or {}).items():
            if v not in (None, ""):
                values.setdefault(k, set()).add(str(v))
    return infer_field_map(values)


def build_align_data(
    featureset,
    cache,
    encoders: Mapping[str, Any],
    config: AlignConfig | None = None,
    *,
    field_map: Mapping[str, str] | None = None,
    text_only: Sequence[Product] = (),
    rows: np.ndarray | None = None,
    progress: bool = True,
) -> AlignData:
    """Turn a FeatureSet (+ optional text-only products) into `AlignData`.

    `rows` restricts training to those FeatureSet rows (e.g. a benchmark's
    training split). Captions are encoded via `cache.encode_texts`.
    """
    cfg = config or AlignConfig()
    fm = dict(field_map) if field_map is not None else _field_map(featureset.products)
    has_img = np.asarray(featureset.has_image, bool)
    idx = np.flatnonzero(has_img)
    if rows is not None:
        idx = np.intersect1d(idx, np.asarray(rows, int))
    products = [featureset.products[i] for i in idx]
    fields = tuple(CAPTION_FIELDS)
    pattrs = [product_attributes(p, fm) for p in products]

    # Text-only material: products in the store without an image, plus any extra ones.
    extra = [
        p
        for i, p in enumerate(featureset.products)
        if not has_img[i] and p.title and (rows is None or i in set(np.asarray(rows, int).tolist()))
    ]
    extra += [p for p in text_only if p.title]
    eattrs = [product_attributes(p, fm) for p in extra] if cfg.text_only_prob > 0 else []

    classes = {f: sorted({a[f] for a in pattrs + eattrs if f in a}) for f in fields}
    cid = {f: {v: k for k, v in enumerate(classes[f])} for f in fields}

    def ids(a: Mapping[str, str]) -> list[int]:
        return [cid[f].get(v, -1) if (v := a.get(f)) else -1 for f in fields]

    texts: list[str] = []
    kind: list[int] = []
    cattr: list[list[int]] = []
    cgroup: list[int] = []
    # 1) titles
    group_of: dict[str, int] = {}
    title_cap = np.full(len(products), -1, np.int64)
    title_group = np.full(len(products), -1, np.int64)
    for i, p in enumerate(products):
        if p.title:
            g = group_of.setdefault(p.title.strip().lower(), len(group_of))
            title_cap[i], title_group[i] = len(texts), g
            texts.append(p.title)
            kind.append(0)
            cattr.append([-1] * len(fields))
            cgroup.append(g)
    # 2) attribute captions
    attr_caps: list[np.ndarray] = [np.zeros(0, np.int64) for _ in products]
    if cfg.attribute_captions:
        caps, per = captions_for_products(pattrs, n=cfg.captions_per_combo, seed=cfg.seed, langs=cfg.caption_langs)
        base = len(texts)
        for c in caps:
            texts.append(c.text)
            kind.append(1)
            d = dict(c.attributes)
            cattr.append(ids(d) if d else [-1] * len(fields))
            cgroup.append(-1)
        attr_caps = [np.asarray(per_i, np.int64) + base for per_i in per]
    # 3) text-only titles, each a positive for images with the same full combination
    text_only_caps: list[np.ndarray] = [np.zeros(0, np.int64) for _ in products]
    if eattrs:
        by_combo: dict[tuple, list[int]] = {}
        for p, a in zip(extra, eattrs):
            combo = tuple(a.get(f) for f in fields)
            if all(combo):
                by_combo.setdefault(combo, []).append(len(texts))
                texts.append(p.title)
                kind.append(2)
                cattr.append(ids(a))
                cgroup.append(-1)
        text_only_caps = [np.asarray(by_combo.get(tuple(a.get(f) for f in fields), []), np.int64) for a in pattrs]

    # Encode each distinct caption once per text encoder, through the cache.
    uniq = list(dict.fromkeys(texts))
    pos = {t: k for k, t in enumerate(uniq)}
    back = np.asarray([pos[t] for t in texts], np.int64)
    text_feats: dict[str, np.ndarray] = {}
    for name in cfg.text_inputs:
        if name not in encoders:
            raise KeyError(f"text encoder '{name}' needed by the heads is not configured")
        enc = encoders[name]
        bar = _bar(len(uniq), f"encode captions [{name}]", progress)
        try:
            vecs = cache.encode_texts(enc, uniq, cfg.text_mode, progress=bar.update if bar else None)
        finally:
            if bar:
                bar.close()
        text_feats[name] = np.asarray(vecs, np.float32)[back]
    image_feats = {
        n: np.asarray(featureset.image[n], np.float32)[idx] for n in cfg.image_inputs if n in featureset.image
    }
    missing = [n for n in cfg.image_inputs if n not in featureset.image]
    if missing:
        raise KeyError(f"image features {missing} needed by the heads are not in the feature set")
    fps = {n: encoders[n].fingerprint() for n in list(cfg.image_inputs) + list(cfg.text_inputs) if n in encoders}
    return AlignData(
        image=image_feats,
        text=text_feats,
        product_ids=[p.id for p in products],
        attr=np.asarray([ids(a) for a in pattrs], np.int64).reshape(len(products), len(fields)),
        fields=fields,
        classes=classes,
        title_cap=title_cap,
        title_group=title_group,
        attr_caps=attr_caps,
        text_only_caps=text_only_caps,
        cap_kind=np.asarray(kind, np.int64),
        cap_attr=np.asarray(cattr, np.int64).reshape(len(kind), len(fields)),
        cap_group=np.asarray(cgroup, np.int64),
        input_fingerprints=fps,
        caption_texts=texts,
    )


def _bar(total: int, desc: str, show: bool):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text", leave=False, disable=None)


def format_metrics(metrics: Mapping[str, Any]) -> str:
    val = metrics.get("validation") or {}
    rows = [("", val)]
    if metrics.get("default_validation"):
        rows = [(" (trained)", val), (" (defaults)", metrics["default_validation"])]
    w = max(15, max(len("image -> text" + who) for who, _ in rows) + 1)
    lines = [
        f"validation slice: {metrics.get('val_products', 0)} held-out products "
        f"(trained on {metrics.get('train_products', 0)}; {metrics.get('pairs', 0)} image-title pairs)",
        f"{'direction':<{w}}  R@1     R@5     R@10    MRR",
    ]
    for who, v in rows:
        for key, label in (("text_to_image", "text -> image"), ("image_to_text", "image -> text")):
            m = v.get(key)
            if m:
                lines.append(f"{label + who:<{w}}  {m['R@1']:.3f}   {m['R@5']:.3f}   {m['R@10']:.3f}   {m['MRR']:.3f}")
    acc = val.get("attribute_accuracy")
    if acc:
        lines.append(
            "attributes predicted from the photo (top-1 accuracy): "
            + ", ".join(f"{k} {v:.3f}" for k, v in sorted(acc.items()))
        )
    if metrics.get("decision"):
        lines.append(metrics["decision"])
    return "\n".join(lines)


def mean_r10(val: Mapping[str, Any] | None, metric: str = "R@10") -> float | None:
    """Mean of text->image and image->text `metric` (R@10) on a validation slice (None if not measured)."""
    if not val or "text_to_image" not in val or "image_to_text" not in val:
        return None
    return 0.5 * (val["text_to_image"][metric] + val["image_to_text"][metric])


def evaluate_defaults(
    defaults: Heads, data: AlignData, val_idx: np.ndarray, cache, encoders: Mapping[str, Any], config: AlignConfig
) -> tuple[dict[str, Any] | None, str]:
    """The shipped heads on the same validation slice as the trained ones: (metrics or None, why not)."""
    img_missing = [n for n in defaults.image_inputs if n not in data.image]
    if img_missing:
        return None, f"the store has no {img_missing} image features the default heads read"
    fps = {n: encoders[n].fingerprint() for n in defaults.image_inputs + defaults.text_inputs if n in encoders}
    fps.update(data.input_fingerprints)
    stale = defaults.check_compatible(fps)
    if stale:
        return None, f"the default heads were trained on other versions of {stale}"
    if defaults.text_mode == config.text_mode and all(n in data.text for n in defaults.text_inputs):
        return evaluate_pairs(defaults, data, val_idx), ""
    # Other e5 mode / text inputs: encode the validation titles the defaults' way (through the cache).
    missing = [n for n in defaults.text_inputs if n not in encoders]
    if missing:
        return None, f"text encoder(s) {missing} the default heads read are not configured"
    idx = np.asarray([i for i in val_idx if data.title_cap[i] >= 0], int)
    titles = [data.caption_texts[data.title_cap[i]] for i in idx]
    text = {n: np.zeros((len(data.cap_kind), 1), np.float32) for n in defaults.text_inputs}
    for n in defaults.text_inputs:
        vecs = np.asarray(cache.encode_texts(encoders[n], titles, defaults.text_mode), np.float32)
        text[n] = np.zeros((len(data.cap_kind), vecs.shape[1]), np.float32)
        text[n][data.title_cap[idx]] = vecs
    view = AlignData(**{**data.__dict__, "text": text})
    return evaluate_pairs(defaults, view, idx), ""


def next_version(out_dir: Path) -> str:
    nums = [int(m.group(1)) for p in out_dir.glob("v*") if (m := re.fullmatch(r"v(\d+)", p.name))]
    return f"v{(max(nums) + 1 if nums else 1):04d}"


def align_store(
    featureset,
    cache,
    encoders: Mapping[str, Any],
    config: AlignConfig | None,
    out_dir: str | Path,
    *,
    field_map: Mapping[str, str] | None = None,
    text_only: Sequence[Product] = (),
    progress: bool = True,
    provenance: Mapping[str, Any] | None = None,
    compare_defaults: bool = True,
) -> tuple[Heads, dict[str, Any], Path]:
    """Train heads on a store's image-title pairs and save them as a new version.

    `field_map` (lexicon field -> catalog column, for attribute captions) is the store's, from
    its manifest; without it, it is inferred from the products (callers without a store).

    Returns (heads, metrics, version directory). `encoders` needs at least the
    text encoders the heads read (captions are encoded through `cache`); image
    encoders, when given, have their fingerprints recorded too.

    Writes `out_dir/vNNNN/{heads.npz,heads.json,metrics.json}` and points
    `out_dir/CURRENT` at it (atomically); `Heads.load(out_dir)` loads the
    current version. Raises `TooFewPairs` (with a user-facing message) when
    the catalog has fewer than `config.min_pairs` pairs.

    Small-catalog safety (`compare_defaults`): the shipped default heads are
    scored on the SAME validation slice (when they fit the store's encoders).
    If they beat the trained heads (mean of text->image and image->text R@10),
    the trained heads are not adopted: nothing is written to `out_dir` and the
    result is (default heads, metrics, `default_heads_path()`), with
    `metrics["adopted"] == "default"` (else "trained") and both validations in
    the metrics (`validation`, `default_validation`) and `metrics["decision"]`.
    """
    cfg = store_image_inputs(config or AlignConfig(), encoders)
    ok, msg = check_pairs(featureset, cfg)
    if not ok:
        raise TooFewPairs(msg)
    log.info(msg)
    t0 = time.perf_counter()
    data = build_align_data(
        featureset, cache, encoders, cfg, field_map=field_map, text_only=text_only, progress=progress
    )
    train_idx, val_idx = split_pairs(data, cfg)
    heads, metrics = train_heads(data, cfg, train_idx=train_idx, val_idx=val_idx, progress=progress)
    metrics["adopted"] = "trained"
    if compare_defaults and len(val_idx):
        try:
            defaults = Heads.load(default_heads_path())
        except (HeadsError, OSError, KeyError, ValueError) as e:
            defaults, why = None, f"no usable default heads ({e})"
        if defaults is not None:
            dval, why = evaluate_defaults(defaults, data, val_idx, cache, encoders, cfg)
        else:
            dval = None
        ours, theirs = mean_r10(metrics.get("validation")), mean_r10(dval)
        # R@10 saturates on a small slice (50 products: often 1.0 for both): ties go to MRR
        ours_mrr, theirs_mrr = mean_r10(metrics.get("validation"), "MRR"), mean_r10(dval, "MRR")
        metrics["default_heads"] = {
            "fingerprint": defaults.fingerprint if defaults is not None else None,
            "compared": theirs is not None,
            **({"why_not": why} if why else {}),
        }
        if dval:
            metrics["default_validation"] = dval
        if ours is not None and theirs is not None and ours_mrr is not None and theirs_mrr is not None:
            metrics["default_heads"].update(
                {
                    "mean_R@10_trained": round(ours, 4),
                    "mean_R@10_default": round(theirs, 4),
                    "mean_MRR_trained": round(ours_mrr, 4),
                    "mean_MRR_default": round(theirs_mrr, 4),
                }
            )
            a = f"R@10 {ours:.3f}" + (f", MRR {ours_mrr:.3f}" if round(ours, 6) == round(theirs, 6) else "")
            b = f"R@10 {theirs:.3f}" + (f", MRR {theirs_mrr:.3f}" if round(ours, 6) == round(theirs, 6) else "")
            if (round(theirs, 6), theirs_mrr) > (round(ours, 6), ours_mrr):
                metrics["adopted"] = "default"
                metrics["decision"] = (
                    f"trained heads ({a}) are worse than the shipped defaults ({b}) on this "
                    f"store's validation slice; keeping the defaults"
                )
            else:
                metrics["decision"] = (
                    f"trained heads ({a}) are at least as good as the shipped defaults ({b}) on "
                    f"this store's validation slice; adopting the trained heads"
                )
    metrics["seconds_total"] = round(time.perf_counter() - t0, 2)
    if metrics["adopted"] == "default":
        assert defaults is not None, "the defaults are adopted only after they were loaded and scored"
        log.info(format_metrics(metrics))
        return defaults, metrics, default_heads_path()
    out_dir = Path(out_dir)
    version = next_version(out_dir) if out_dir.exists() else "v0001"
    heads.meta.update(
        {
            "version": version,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "data": {
                "products": len(featureset.products),
                "pairs": metrics["pairs"],
                "captions": metrics["captions"],
                "text_only": len(text_only),
            },
            **(dict(provenance) if provenance else {}),
        }
    )
    heads.meta["metrics"] = {k: v for k, v in metrics.items() if k != "history"}
    target = out_dir / version
    heads.save(target)
    write_atomic(target / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode())
    write_atomic(out_dir / CURRENT_FILE, (version + "\n").encode())
    log.info(format_metrics(metrics))
    log.info("saved heads %s (fingerprint %s) to %s", version, heads.fingerprint, target)
    return heads, metrics, target
