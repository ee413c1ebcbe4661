"""The attribute MLP's reading of every photo is filled in the warm-up thread (search/searcher.py
`_fill_mlp_table`), so early queries do not pay for it; it must equal the lazy reading, and closing
the engine must not wait for a full fill."""

from __future__ import annotations

import numpy as np

from shoplens import Engine


def test_warm_up_fills_the_attribute_mlp_table_as_the_lazy_reading_would(small_store, engine_config):
    engine = Engine.open(small_store, engine_config)
    try:
        searcher = engine.searcher
        assert searcher.heads is not None and searcher.heads.attribute_mlp is not None  # the shipped heads carry one
        engine.warm_up(images=False)
        n = searcher.reader.manifest.products
        assert searcher._mlp_known.all() and len(searcher._mlp_known) == n
        docs = np.arange(0, n, 7)
        warm = searcher._mlp_log_probs(docs)
        searcher._mlp_table = None  # read the same rows lazily, as a query did before the warm fill
        lazy = searcher._mlp_log_probs(docs)
        assert warm is not None and lazy is not None and warm.keys() == lazy.keys()
        for f in warm:
            np.testing.assert_allclose(warm[f], lazy[f], rtol=1e-5, atol=1e-5)
    finally:
        engine.close()


def test_closing_stops_the_fill(small_store, engine_config):
    engine = Engine.open(small_store, engine_config)
    engine.warm_up(images=False)  # the background fill is done: nothing else touches the table below
    engine.searcher.stop_warm_up()  # as close() does: the fill returns before its first chunk
    engine.searcher._mlp_table = None
    engine.searcher._fill_mlp_table()
    assert engine.searcher._mlp_table is None
    engine.close()
