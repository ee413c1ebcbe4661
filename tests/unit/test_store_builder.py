"""write_generation without models: synthetic features in, a complete generation out (what every
index and manifest entry holds), so the builder's bookkeeping is pinned by fast tests."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from shoplens.config import IndexConfig
from shoplens.features.extract import FeatureSet
from shoplens.records import Product
from shoplens.store.builder import derived_attributes, vector_fields, write_generation
from shoplens.store.layout import SCHEMA_VERSION, current_generation
from shoplens.store.reader import StoreReader


@dataclass
class FakeEncoder:
    name: str
    modality: str
    dim: int

    def fingerprint(self) -> str:
        return f"fp-{self.name}"


def _l2(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _featureset() -> FeatureSet:
    rng = np.random.default_rng(0)
    products = [
        Product("p1", "Nike Men Black Running Shoes", attributes={"gender": "Men", "baseColour": "Black"}),
        Product("p2", None, images=("x.jpg",), attributes={"gender": "Women"}),  # photo only
        Product("p3", "Red Dress", attributes={"type": "gown", "baseColour": "Red"}),  # catalog has a type
    ]
    return FeatureSet(
        products=products,
        text={"e5": _l2(rng.normal(size=(3, 8)))},
        image={"cnn": _l2(rng.normal(size=(3, 6))), "colour": _l2(np.abs(rng.normal(size=(3, 4))))},
        has_text=np.array([True, False, True]),
        has_image=np.array([True, True, False]),
        timings_s={"encode": 1.5},
    )


def test_derived_type_only_where_the_catalog_has_none():
    got = derived_attributes(_featureset().products)
    assert got[0] == {"type": "shoes"} and got[1] == {} and got[2] == {}


def test_vector_fields_hold_exactly_the_products_with_that_modality():
    fs = _featureset()
    fields = vector_fields(fs, None)
    assert set(fields) == {"text:e5", "image"}
    src, vecs, docs = fields["text:e5"]
    assert src == "encoder:e5" and docs.tolist() == [0, 2] and np.allclose(vecs, fs.text["e5"][[0, 2]])
    src, vecs, docs = fields["image"]
    assert src == "combined:cnn+colour" and docs.tolist() == [0, 1] and vecs.shape == (2, 10)


def test_write_generation_publishes_a_complete_store(tmp_path):
    fs = _featureset()
    encs = [FakeEncoder("e5", "text", 8), FakeEncoder("cnn", "image", 6), FakeEncoder("colour", "image", 4)]
    ingest = {"added": 3}
    m = write_generation(tmp_path, fs, encs, None, None, ["/cat.csv"], ingest, IndexConfig())
    gen = current_generation(tmp_path)
    assert gen.name == m.generation == "gen-000001" and not list(tmp_path.glob("*.tmp"))
    disk = json.loads((gen / "manifest.json").read_text())
    assert disk["products"] == 3 and disk["catalogs"] == ["/cat.csv"] and disk["ingest"] == ingest
    assert disk["encoders"] == {
        "e5": {"modality": "text", "dim": 8, "fingerprint": "fp-e5"},
        "cnn": {"modality": "image", "dim": 6, "fingerprint": "fp-cnn"},
        "colour": {"modality": "image", "dim": 4, "fingerprint": "fp-colour"},
    }
    f = disk["fields"]
    assert f["text:e5"] == {
        "name": "text:e5", "dim": 8, "rows": 2, "index": "flat", "source": "encoder:e5",
        "file": "vectors/text__e5.faiss",
    }  # fmt: skip
    assert f["image"]["rows"] == 2 and f["image"]["dim"] == 10 and f["image"]["file"] == "vectors/image.faiss"
    assert disk["lexical"] == {"path": "lexical", "tokenizer": disk["lexical"]["tokenizer"], "docs": 3}
    assert disk["heads"] is None and disk["timings_s"]["encode"] == 1.5 and disk["timings_s"]["write"] >= 0
    assert disk["field_map"]["colour"] == "baseColour" and disk["schema_version"] == SCHEMA_VERSION
    assert disk["image_part_weights"] == {"cnn": 1.0, "colour": 0.5}  # recorded: query photos must match
    r = StoreReader(tmp_path)
    assert r.products.ids == ["p1", "p2", "p3"]
    assert r.products.filter_mask({"type": "shoes"}).tolist() == [True, False, False]
    assert r.products.filter_mask({"type": "gown"}).tolist() == [False, False, True]
    assert r.vectors["text:e5"].docs.tolist() == [0, 2] and r.vectors["image"].docs.tolist() == [0, 1]
    assert r.lexical.search("running", 5)[1].tolist() == [0]
    r.close()
    m2 = write_generation(tmp_path, fs, encs, None, None, ["/cat.csv"], ingest, IndexConfig())
    assert m2.generation == "gen-000002" and current_generation(tmp_path).name == "gen-000002"


def test_hnsw_above_the_exact_threshold(tmp_path):
    fs = _featureset()
    encs = [FakeEncoder("e5", "text", 8), FakeEncoder("cnn", "image", 6), FakeEncoder("colour", "image", 4)]
    m = write_generation(tmp_path, fs, encs, None, None, [], {}, IndexConfig(exact_threshold=1))
    assert {f.index for f in m.fields.values()} == {"hnsw"}


def test_heads_add_aligned_fields():
    from shoplens.align import Heads, default_heads_path

    heads = Heads.load(default_heads_path())
    rng = np.random.default_rng(1)
    fs = _featureset()
    fs.text = {n: _l2(rng.normal(size=(3, d))) for n, d in zip(heads.text.inputs, heads.text.input_dims)}
    fs.image = {n: _l2(rng.normal(size=(3, d))) for n, d in zip(heads.image.inputs, heads.image.input_dims)}
    fields = vector_fields(fs, heads)
    assert fields["aligned:image"][0] == f"heads:{heads.fingerprint}:image"
    assert fields["aligned:image"][2].tolist() == [0, 1] and fields["aligned:image"][1].shape == (2, heads.dim)
    assert fields["aligned:text"][2].tolist() == [0, 2] and fields["aligned:text"][1].shape == (2, heads.dim)
