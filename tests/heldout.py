"""Products the heads under test never saw, and heads trained without them.

The shipped default heads (`shoplens/align/default_heads/`) were trained on ALL 7,710 shared fashion
products: their heads.json says `data.products: 7710` and `trained_on: all 7710 products`, and
TRAINING.md agrees. The 20% slice of `benchmarks/align_quality.py` is held out only from the heads
that benchmark trains itself. So no shared product is unseen by the shipped heads, and a quality test
using them would query products they were trained on.

The quality and photo-only tests therefore train their own heads (the shipped recipe, smaller) on
catalog rows [0, TRAIN_ROWS) and query products drawn from rows >= HELD_OUT_FROM; `heldout_rows`
checks that no id of one is in the other.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from .shared_data import FASHION, need

TRAIN_ROWS = 600
HELD_OUT_FROM = 2000


def _all_rows() -> list[dict]:
    with open(need("fashion/catalog.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def train_rows() -> list[dict]:
    return _all_rows()[:TRAIN_ROWS]


def heldout_rows(n: int, seed: int = 0) -> list[dict]:
    """`n` products (seeded sample, catalog order) that the test heads were not trained on."""
    rows = _all_rows()
    pool = rows[HELD_OUT_FROM:]
    picked = sorted(random.Random(seed).sample(range(len(pool)), n))
    out = [pool[i] for i in picked]
    trained = {r["id"] for r in rows[:TRAIN_ROWS]}
    assert not trained & {r["id"] for r in out}, "held-out products overlap the heads' training rows"
    return out


def image_path(row: dict) -> Path:
    return FASHION / row["image"]


def train_heads_without(rows_for_training: list[dict], encoders, cache, out_dir: Path):
    """Heads trained (shipped recipe, one member) on these products only; never compared with or
    replaced by the shipped defaults, which saw every product."""
    from shoplens.align import AlignConfig
    from shoplens.align.run import align_store
    from shoplens.features.extract import encode_catalog
    from shoplens.records import Product

    products = [
        Product(
            id=r["id"],
            title=r["productDisplayName"],
            images=(str(image_path(r)),),
            attributes={"gender": r["gender"], "baseColour": r["baseColour"]},
        )
        for r in rows_for_training
    ]
    fs = encode_catalog(products, list(encoders.text.values()), list(encoders.image.values()), cache, progress=False)
    heads, metrics, path = align_store(
        fs,
        cache,
        {**encoders.text, **encoders.image},
        AlignConfig(ensemble=1, epochs=40),
        out_dir,
        field_map={"gender": "gender", "colour": "baseColour", "type": "type"},
        progress=False,
        compare_defaults=False,
    )
    return heads, metrics, path, {p.id for p in products}


def publish_with_heads(store: Path, config, encoders, held) -> None:
    """Re-publish `store` with the held-out test heads (as `shoplens align` publishes its own)."""
    from shoplens.engine import Engine
    from shoplens.features.cache import FeatureCache
    from shoplens.features.extract import encode_catalog
    from shoplens.features.modalities import add_videos_and_reviews
    from shoplens.store.builder import write_generation

    heads, metrics, path, trained_ids = held
    engine = Engine(store, config, encoders)
    products = engine.reader.products.all_products()
    assert not trained_ids & {p.id for p in products}, "the store holds products the test heads were trained on"
    cache = FeatureCache(store / "cache" / "features.sqlite")
    fs = encode_catalog(products, list(encoders.text.values()), list(encoders.image.values()), cache, progress=False)
    fs = add_videos_and_reviews(fs, encoders.text, encoders.image, cache, config.index, store / "media" / "thumbs")
    info = {
        "path": str(Path(path).resolve()),
        "fingerprint": heads.fingerprint,
        "source": "test heads, trained without this store's products",
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
    }
    write_generation(
        store, fs, encoders.all, heads, info, engine.manifest.catalogs, engine.manifest.ingest, config.index
    )
    cache.close()
    engine.close()
