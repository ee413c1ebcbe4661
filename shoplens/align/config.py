"""Settings for training the cross-modal alignment heads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..encoders.base import TextMode


@dataclass(frozen=True)
class AlignConfig:
    # Shared space and inputs (frozen encoders whose cached features the heads read).
    dim: int = 256
    image_inputs: tuple[str, ...] = ("mobilenet_v2", "efficientnet_lite0", "colour")
    text_inputs: tuple[str, ...] = ("e5", "use")
    # e5 mode for captions at training AND queries at search time (recorded in each heads file).
    # "query": the query needs one e5 encoding, shared with text_dense:e5 (benchmarks/align_quality.py:
    # query mode 1.046x vs passage 1.043x over the baseline).
    text_mode: TextMode = "query"
    block_hidden: int = 0  # >0: residual MLP block after the linear map (hidden width)
    ensemble: int = 3  # >1: that many heads (seeds seed, seed+1, ...), each L2-normalised,
    # concatenated / sqrt(ensemble): output is ensemble * dim wide

    # Optimisation: symmetric (multi-positive) InfoNCE, learnable temperature, AdamW.
    epochs: int = 60
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 0.05
    temperature: float = 0.05  # initial; learnable unless learn_temperature=False
    learn_temperature: bool = True
    input_dropout: float = 0.25
    seed: int = 0
    threads: int = 2
    # >1: train the ensemble members (and, with refit_full, the refit beside the validation run) in
    # that many processes side by side; the heads are the same as one after another
    workers: int = 1

    # Data.
    val_fraction: float = 0.1  # held-out pairs for the reported metrics
    min_val: int = 50
    min_pairs: int = 200  # fewer image-text pairs than this: refuse to train
    refit_full: bool = True  # after validating, retrain on all pairs (same recipe)

    # Ideas that measurably help (see benchmarks/align_quality.py for the ablations).
    attribute_captions: bool = True  # "men black shoes" / "男士 黑色 运动鞋" captions, attribute positives
    captions_per_combo: int = 8  # per language, per (type, colour, gender) combination
    caption_langs: tuple[str, ...] = ("en", "zh")
    title_prob: float = 0.5  # share of samples whose caption is the product's title
    captions_per_product: int = 2  # 2: every product brings its title AND an attribute caption
    text_only_prob: float = 0.0  # share whose caption is a text-only product's title (same combo)
    multitask_weight: float = 0.3  # predict type/colour/gender from the image embedding
    multitask_fields: tuple[str, ...] = ("type", "colour", "gender")
    # >0: after contrastive training, refit each field's classifier as an L2-regularised softmax
    # regression on the final (frozen) image embedding, sklearn-style C (larger = weaker penalty).
    # Search ranks photo-only products by the classifiers' log-probabilities; the refit ones rank
    # them better than the jointly trained ones (benchmarks/align_quality.py, held-out photo-only
    # catalog: EN NDCG@10 1.05x vs 1.02x BM25-over-titles).
    classifier_c: float = 3.0
    # >0: also fit a multi-task MLP (this many hidden units, `attribute_mlp_seeds` members) on the
    # raw image features (align/attribute_mlp.py); search re-scores photo-only products with it
    # (benchmarks/photoattr_probe.py: 1.078x vs 1.057x BM25-over-titles for the linear ones; through
    # search on the held-out photo-only store 1.032x vs 1.018x EN, 0.988x vs 0.974x ZH).
    attribute_mlp_hidden: int = 512
    attribute_mlp_seeds: int = 3
    attribute_mlp_epochs: int = 60
    hard_negatives: float = 0.0  # share of batches drawn from few product types
    # >0: an extra symmetric InfoNCE over the batch's titles alone (title vs photo, positives = same
    # title), weighted so; exact-title search needs photos told apart from others of the same kind.
    title_loss_weight: float = 0.0
    # >0: only the last that many of the `ensemble` members train with the title loss (role "title"
    # in heads.json), the others without it (role "attributes"); search reads a query's members by
    # its shape (search/members.py): exact titles gain without giving the attribute queries' order.
    title_members: int = 0

    def member(self, m: int) -> AlignConfig:
        """The recipe of ensemble member `m` (seed + m; the title loss only for title members)."""
        cfg = replace(self, seed=self.seed + m, workers=1)
        if self.title_members > 0 and m < max(1, self.ensemble) - self.title_members:
            cfg = replace(cfg, title_loss_weight=0.0)
        return cfg

    def member_roles(self) -> list[str] | None:
        """Per member "attributes" / "title" when `title_members` splits the ensemble, else None."""
        from .heads import ROLE_ATTRIBUTES, ROLE_TITLE  # heads.py pulls numpy; this module stays light

        k = max(1, self.ensemble)
        if not 0 < self.title_members < k:
            return None
        return [ROLE_ATTRIBUTES] * (k - self.title_members) + [ROLE_TITLE] * self.title_members

    def with_(self, **kw: Any) -> AlignConfig:
        return replace(self, **kw)

    def to_json(self) -> dict[str, Any]:
        # `workers` says how the training ran, not what was trained: not part of the recipe
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k != "workers"}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlignConfig:
        known = {f for f in cls.__dataclass_fields__}
        kw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known}
        return cls(**kw)


__all__ = ["AlignConfig", "field"]
