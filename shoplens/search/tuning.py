"""Search-quality settings of round 2 (issue #12): `QualityConfig` (in config.py, the `[quality]`
table of a store's shoplens.toml) says how attribute re-scoring yields to specific queries, how a
photo and words compose, and when a hit is too weak to show; every default is the value
`benchmarks/bench_quality2.py` measured. `LEGACY` is the behaviour before round 2, which the
benchmarks compare against in the same run.
"""

from __future__ import annotations

from ..config import QualityConfig

__all__ = ["LEGACY", "QualityConfig"]

# What search did before round 2: full re-scoring, photo and words fused as unrelated queries,
# every hit kept. Benchmarks compare against it in the same run.
LEGACY = QualityConfig(
    attribute_coverage_power=0.0,
    compose=False,
    min_confidence=0.0,
    min_hit_confidence=0.0,
    warm_up=False,
    relative_price=False,
)
