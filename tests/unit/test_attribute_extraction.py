"""Attribute extraction from titles (preprocess/attributes.py), English, no models: rules learned
on one part of the shared fashion catalog, scored on held-out products against its own columns."""

from __future__ import annotations

from collections import Counter

from shoplens.preprocess.attributes import extract, learn
from shoplens.preprocess.field_map import infer_field_map

from ..conftest import fashion_rows

COLS = ("gender", "subCategory", "baseColour")


def test_learned_rules_are_precise_on_held_out_titles():
    rows = fashion_rows(3000)
    train, test = rows[::2][:1200], rows[1::2][:400]
    attrs = [{c: r[c] for c in COLS if r[c]} for r in train]
    fmap = infer_field_map({c: {r[c] for r in train} for c in COLS})
    model = learn([r["productDisplayName"] for r in train], attrs, field_map=fmap, columns=COLS)
    for col in COLS:
        emitted = right = 0
        for r in test:
            got = extract([("title", r["productDisplayName"])], model)
            if col in got:
                emitted += 1
                right += got[col].value == r[col] and got[col].source == "title"
        # chance: always answering the column's commonest value
        chance = Counter(r[col] for r in test).most_common(1)[0][1] / len(test)
        assert emitted >= 0.7 * len(test), (col, emitted)
        assert right / emitted >= 0.9 > chance + 0.3, (col, right / emitted, chance)


def test_source_labels_and_trust_order():
    rows = fashion_rows(600)
    attrs = [{c: r[c] for c in COLS} for r in rows]
    model = learn([r["productDisplayName"] for r in rows], attrs, columns=COLS, field_map={"colour": "baseColour"})
    # the title names no colour: the review does, and says so
    got = extract([("title", "Puma Men Running Shoes"), ("review", "love the black colour, pure cotton lining")], model)
    assert got["baseColour"].value == "Black" and got["baseColour"].source == "review"
    assert got["material"].value == "Cotton" and got["material"].source == "review"
    assert got["gender"].value == "Men" and got["gender"].source == "title"
    # a title beats a review that disagrees
    got = extract([("title", "Puma Men White Shoes"), ("review", "not black at all")], model)
    assert got["baseColour"].value == "White"
    assert got["brand"].value == "Puma"
