"""A catalog of photos only (no titles, no attributes): text search still works, in English and
Chinese, through the heads' shared space and their attribute classifiers.

The products are held out from the heads under test (tests/heldout.py), relevance comes from the
catalog's own columns (tests/grading.py, no shoplens code), and every gate is held against the
chance that a random ranking passes it (< 0.1%).
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from shoplens.config import BuildConfig
from shoplens.engine import Engine

from ..conftest import write_catalog
from ..grading import grade, hypergeom_pmf, make_queries, min_passing, ndcg_at, sum_tail, word
from ..heldout import publish_with_heads

pytestmark = pytest.mark.slow
PHOTO_PRODUCTS = 200


@pytest.fixture(scope="module")
def photo_store(tmp_path_factory, engine_config, heldout_store, heldout_heads, small_engine):
    src, rows = heldout_store
    rows = rows[:PHOTO_PRODUCTS]
    d = tmp_path_factory.mktemp("photo_only")
    (d / "store" / "cache").mkdir(parents=True)
    for f in (src / "cache").glob("features.sqlite*"):  # the same photos, already encoded
        shutil.copy(f, d / "store" / "cache" / f.name)
    photos = [{"id": r["id"], "image": r["image"]} for r in rows]  # no title, no attributes
    Engine.build(
        write_catalog(d / "catalog.csv", photos),
        d / "store",
        engine_config,
        BuildConfig(progress=False, auto_align=False),
    )
    publish_with_heads(d / "store", engine_config, small_engine.encoders, heldout_heads)
    return d / "store", rows


def _relevant_in_top(engine, rows, queries, lang, k=10):
    by_id = {r["id"]: r for r in rows}
    return [sum(grade(by_id[i], q) >= 1 for i in engine.search(word(q, lang), k=k).ids) for q in queries]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_text_finds_photo_only_products(photo_store, engine_config, small_engine, lang):
    store, rows = photo_store
    engine = Engine(store, engine_config, small_engine.encoders)
    assert engine.manifest.products == len(rows) and engine.manifest.fields["text:e5"].rows == 0  # photos only
    queries = make_queries(rows, min_exact=2)
    assert len(queries) >= 10
    got = _relevant_in_top(engine, rows, queries, lang)
    # chance: each query's count of relevant products (kind + gender) in a random top 10 is hypergeometric
    pmfs = [hypergeom_pmf(len(rows), sum(grade(r, q) >= 1 for r in rows), 10) for q in queries]
    expected = sum(sum(x * p for x, p in enumerate(pmf)) for pmf in pmfs)
    need = min_passing(lambda t: sum_tail(pmfs, t))
    print(f"{lang}: {sum(got)} relevant in the top 10s; chance: expected {expected:.1f}, p<0.1% needs {need}")
    assert sum(got) >= need and sum(got) >= 2 * expected, (sum(got), need, expected, got)
    res = engine.search(word(queries[0], lang), k=5)
    assert set(res.hits[0].components) == {"text_to_image"}
    pred = res.to_json(explain=True)["results"][0]["predicted_attributes"]  # what the heads read from the photo
    assert set(pred) >= {"type", "colour", "gender"} and 0 < pred["type"]["p"] <= 1


def test_predicted_attributes_rescore_photo_only_candidates(photo_store, engine_config, small_engine):
    """Re-scoring by the classifiers' log-probabilities ranks held-out photos better than the shared
    space alone (graded independently)."""
    store, rows = photo_store
    with_boost = Engine(store, engine_config, small_engine.encoders)
    search_cfg = dataclasses.replace(engine_config.search, predicted_attribute_weight=0.0)
    cosine = Engine(store, dataclasses.replace(engine_config, search=search_cfg), small_engine.encoders)
    by_id = {r["id"]: r for r in rows}
    queries = make_queries(rows, min_exact=2)

    def ndcg(engine):
        total = 0.0
        for q in queries:
            all_gains = [grade(r, q) for r in rows]
            total += ndcg_at([grade(by_id[i], q) for i in engine.search(word(q, "en"), k=10).ids], all_gains)
        return total / len(queries)

    a, b = ndcg(with_boost), ndcg(cosine)
    assert a > b, (a, b)


def test_attribute_mlp_reads_held_out_photos_from_the_store(photo_store, engine_config, small_engine, tmp_path):
    """The heads' MLP on raw photo features (trained with them) reads the photos' features back out
    of the store's combined image vectors, exactly as encoded, and tells held-out products' type
    and colour far above the chance of always guessing the commonest one (p < 0.1%)."""
    import numpy as np

    from shoplens.features.cache import FeatureCache
    from shoplens.features.extract import encode_catalog
    from shoplens.preprocess import lexicon
    from shoplens.records import Product
    from shoplens.search.photo_parts import image_parts, part_layout

    from ..grading import binom_tail
    from ..heldout import image_path

    store, rows = photo_store
    engine = Engine(store, engine_config, small_engine.encoders)
    mlp = engine.heads.attribute_mlp
    assert mlp is not None and set(mlp.classes) >= {"type", "colour"}
    assert list(engine.reader.products.ids) == [r["id"] for r in rows]
    _, vecs = engine.reader.vectors["image"].vectors_of(np.arange(len(rows)))
    parts = image_parts(vecs, part_layout(engine.manifest.encoders, engine.searcher.image_part_weights))
    assert parts is not None
    image_encoders = list(small_engine.encoders.image.values())
    fresh = encode_catalog(
        [Product(id=r["id"], images=(str(image_path(r)),)) for r in rows[:12]],
        [],
        image_encoders,
        FeatureCache(tmp_path / "features.sqlite"),
        progress=False,
    )
    for n in mlp.inputs:
        f = fresh.image[n] / np.linalg.norm(fresh.image[n], axis=1, keepdims=True)
        np.testing.assert_allclose(parts[n][:12], f, atol=2e-3)
    x = mlp.features(parts)
    truths = {
        "type": [lexicon.product_type(r["productDisplayName"]) for r in rows],
        "colour": [getattr(lexicon.lookup("colour", r["baseColour"]), "value", None) for r in rows],
    }
    for fld, truth in truths.items():
        known = [i for i, t in enumerate(truth) if t in mlp.classes[fld]]
        pred = mlp.log_probs(x[known], fld).argmax(1)
        hits = sum(mlp.classes[fld][p] == truth[i] for p, i in zip(pred, known))
        commonest = max(truth.count(t) for t in set(truth)) / len(truth)
        p_chance = binom_tail(len(known), commonest, hits)
        print(f"{fld}: {hits}/{len(known)} right; always the commonest: {commonest:.2f}; p={p_chance:.1e}")
        assert p_chance < 1e-3 and hits / len(known) > commonest + 0.15, (fld, hits, len(known), commonest)


def test_photo_and_colour_word_compose_with_the_attribute_mlp(photo_store, engine_config, small_engine):
    """Heads with an attribute MLP (`QualityConfig.compose_mlp`): photo + a colour word reads the query
    photo's type/gender and the candidates' attributes with the MLP, and brings the asked colour in
    that type and gender far above chance and above the photo alone."""
    from shoplens.preprocess import lexicon

    from ..heldout import image_path

    store, rows = photo_store
    engine = Engine(store, engine_config, small_engine.encoders)
    assert engine.heads.attribute_mlp is not None and engine.searcher.quality.compose_mlp

    def label(r):
        colour = lexicon.lookup("colour", r["baseColour"])
        return lexicon.product_type(r["productDisplayName"]), r["gender"], colour.value if colour else None

    labels = {r["id"]: label(r) for r in rows}
    tasks = []
    for r in rows:
        t, g, c = labels[r["id"]]
        others = sorted({x[2] for x in labels.values() if x[:2] == (t, g) and x[2] not in (c, None)})
        if t and c and others:
            tasks.append((r, others[0]))
    tasks = tasks[:12]
    assert len(tasks) >= 8
    feats = engine.searcher.qenc.image_feats(image_path(tasks[0][0]))
    assert "photo_attributes" in engine.searcher._compose_readers(feats)  # the MLP reads the query photo
    got = alone = 0
    expected = 0.0
    for r, colour in tasks:
        want = (*labels[r["id"]][:2], colour)
        img = image_path(r)
        got += sum(labels[i] == want for i in engine.search(lexicon.wording("colour", colour), image=img, k=5).ids)
        alone += sum(labels[i] == want for i in engine.search(image=img, k=5).ids)
        expected += 5 * sum(x == want for x in labels.values()) / len(labels)
    print(
        f"asked colour in the photo's type+gender, top 5s: {got} composed, {alone} photo alone, chance {expected:.1f}"
    )
    assert got > alone and got >= max(4 * expected, 6), (got, alone, expected)
