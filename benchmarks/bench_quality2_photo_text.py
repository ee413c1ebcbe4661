"""bench_quality2.py with the photo-text gate off and on, in one run on its photo-only store.

Its "legacy" variant is replaced by the defaults with `QualityConfig.photo_text_needs_unexplained_words`
off (search as at cafd4d6: the `ocr` / `ocr_dense:*` components vote on every text query); "new" is
the defaults (they vote only when a query word is left that the understood attributes do not explain).
Photo readings cached by other benchmark stores are seeded first (bench_quality_versions.seed_ocr_cache).

    nice .venv/bin/python benchmarks/bench_quality2_photo_text.py --only attributes free titles photo nothing \
        --variants legacy new --queries 100 --titles 200
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_quality2 as B  # noqa: E402
from bench_quality_versions import seed_ocr_cache  # noqa: E402

from shoplens.search.tuning import QualityConfig  # noqa: E402

if __name__ == "__main__":
    B.LEGACY = QualityConfig(photo_text_needs_unexplained_words=False)
    seed_ocr_cache(B.Q2 / "photo_only_store_heldout_heads")
    sys.exit(B.main(sys.argv[1:]))
