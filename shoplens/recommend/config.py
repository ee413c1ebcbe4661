"""Settings for `similar` and `recommend`: one frozen dataclass, passed explicitly.

The defaults are the ones `benchmarks/bench_recommend.py` measured (diginetica next-item
Recall@20/MRR@20 for the co-view part; type/gender agreement and duplicate-freedom for
`similar`); the README table cites them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecommendConfig:
    # ---- what an action says about interest (impressions say nothing: shown is not chosen) ----
    action_weights: dict[str, float] = field(
        default_factory=lambda: {"click": 1.0, "hover": 0.5, "add_to_cart": 2.0, "purchase": 3.0}
    )
    # Events without a session_id are cut into sessions per user/client at gaps this long.
    session_gap_s: float = 30 * 60

    # ---- co-view / co-purchase (session item-to-item co-occurrence) ----
    # Two items in one session co-occur when at most `window` positions apart; the pair weighs
    # position_decay ** (distance - 1): neighbours in the click stream say more than far ones.
    window: int = 5
    position_decay: float = 0.8
    # Order matters: what shoppers open *after* an item predicts the next item better than what
    # they opened before it (diginetica, bench_recommend.py); backward pairs still count a little.
    backward_weight: float = 0.5
    # Older sessions count less: a pair's weight halves every `half_life_days` before the newest event.
    half_life_days: float = 60.0
    # Score a candidate j for anchor i by C[i, j] / pop(j) ** popularity_damping: 0 = raw counts (best
    # sellers everywhere), 1 = cosine-like (rare items win on one co-view). 0.3: bench_recommend.py.
    popularity_damping: float = 0.3
    # The shopper's recent distinct items that seed co-view neighbours; the last weighs 1, the one
    # before history_decay, ...
    history_items: int = 10
    history_decay: float = 0.6
    # Popularity (cold start and fill): decayed interest-weighted counts.
    popularity_half_life_days: float = 14.0
    # At most this share of time goes to refitting co-views as events arrive: after a fit that took
    # t seconds the next waits t / refit_budget (the 12k diginetica events fit in 0.16 s: 3 s later).
    refit_budget: float = 0.05

    # ---- profile (decayed mean of the shopper's chosen products' vectors) ----
    profile_fields: tuple[str, ...] = ("aligned:image", "image", "text:e5")
    profile_half_life_days: float = 30.0
    # RRF weights of recommend's sources.
    weights: dict[str, float] = field(
        default_factory=lambda: {"coview": 1.0, "recent": 0.5, "profile": 0.7, "popular": 0.05}
    )
    rrf_k: int = 60

    # ---- similar items ----
    text_field: str = "text:e5"
    photo_field: str = "image"
    candidates: int = 100
    # Two products whose photo vectors have cosine >= this are one product photographed once
    # (identical packshots give 1.0; the closest distinct products among 300 shared fashion
    # products reach 0.94: two brands' black sunglasses).
    duplicate_cosine: float = 0.985
    # Without photos, identical titles (text cosine >= this) are treated as duplicates.
    duplicate_text_cosine: float = 0.995
    # MMR: score = lambda * relevance - (1 - lambda) * max similarity to what is already chosen.
    # 1.0 = pure relevance; 0.75 keeps the nearest items first yet stops five near-identical
    # shirts of one brand filling the row.
    mmr_lambda: float = 0.75
