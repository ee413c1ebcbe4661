"""Text printed in product photos (OCR): a product whose only text is a word printed in its photo
is found first for that word, in English and Chinese, and `--explain` says it matched there."""

from __future__ import annotations

import json
import shutil

import pytest

from shoplens.config import BuildConfig, EngineConfig, IndexConfig
from shoplens.engine import Engine

from ..conftest import FASHION, fashion_rows
from .printed import print_word

pytestmark = pytest.mark.slow
WORDS = {"ocr-en": "ZORBLAX", "ocr-zh": "熊猫"}


def _catalog(tmp_path, n: int = 60) -> tuple:
    rows = fashion_rows(n, offset=300)
    lines = [
        {"id": r["id"], "title": r["productDisplayName"], "image": str(FASHION / r["image"]), "colour": r["baseColour"]}
        for r in rows
    ]
    # two more products: a real shared photo with a word printed on it, and no text at all
    for (pid, word), r in zip(WORDS.items(), fashion_rows(2, offset=400)):
        photo = print_word(FASHION / r["image"], tmp_path / f"{pid}.jpg", word)
        lines.append({"id": pid, "image": str(photo)})
    cat = tmp_path / "catalog.jsonl"
    cat.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return cat, len(lines)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, engine_config):
    d = tmp_path_factory.mktemp("ocr")
    cat, n = _catalog(d)
    out = {}
    for mode in ("auto", "off"):
        if mode == "off":  # the same products' features, encoded once (photo text is read only with OCR on)
            shutil.copytree(d / "auto" / "cache", d / mode / "cache", ignore=shutil.ignore_patterns("ocr.sqlite*"))
        cfg = EngineConfig(encoders=engine_config.encoders, index=IndexConfig(ocr=mode))
        Engine.build(cat, d / mode, cfg, BuildConfig(progress=False, auto_align=False)).close()
        out[mode] = d / mode
    return out, n


@pytest.mark.parametrize("pid", sorted(WORDS))
def test_printed_word_ranks_first(stores, engine_config, pid):
    paths, n = stores
    with Engine.open(paths["auto"], engine_config) as engine:
        res = engine.search(WORDS[pid].lower() if pid == "ocr-en" else WORDS[pid], k=10, explain=True)
        assert res.ids[:1] == [pid], (res.ids, [h.title for h in res.hits])
        top = res.hits[0]
        assert "ocr" in top.components and WORDS[pid] in (top.photo_text or "")
        assert "printed in its photo" in (top.evidence or "")
    # the control: without OCR nothing in the store knows the word (chance of rank 1: 1 in n)
    with Engine.open(paths["off"], engine_config) as engine:
        res = engine.search(WORDS[pid], k=10)
        assert pid not in res.ids[:1]


def _ocr_votes(engine, text: str) -> set[str]:
    res = engine.search(text, k=100)
    return {h.id for h in res.hits if any(c.startswith("ocr") for c in h.components)}


def test_photo_text_votes_need_an_unexplained_word(stores, engine_config):
    """A query that attributes explain entirely gets no votes from photo text (e5 puts short Chinese
    queries near any short printed text, so those votes were noise: the Chinese hybrid lost 0.3% on
    the full catalog); the same query with the gate off does get them (the control), and a printed
    word beside attributes keeps them."""
    paths, _ = stores
    query = "女士 黑色 包"
    with Engine.open(paths["auto"], engine_config) as engine:
        assert _ocr_votes(engine, query) == set()
        assert "ocr-zh" in _ocr_votes(engine, f"熊猫 {query}")
    # (share weighting off too: no photo holds these words, so it alone would also silence them)
    off = {"quality.photo_text_needs_unexplained_words": False, "quality.ocr_share_power": 0.0}
    with Engine.open(paths["auto"], engine_config, overrides=off) as engine:
        assert _ocr_votes(engine, query), "control: without the gate the photo texts vote on this query"
