"""Attribute captions: extra training text for the alignment heads.

A product's title is one caption of its photo; its attributes give many more
("men black shoes", "black sneakers for men", "男士 黑色 运动鞋", "黑色鞋子").
Each caption carries the attributes it mentions, and during training every
product that agrees with all of them is a positive for it, so the shared
space learns what "black", "women" or "凉鞋" look like rather than memorising
individual titles. Wordings vary (all lexicon synonyms, several templates,
English and Chinese, subsets of the attributes) so that the heads generalise
to wordings no benchmark has seen.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shoplens.preprocess import lexicon
from shoplens.records import Product

# Fields used as caption attributes and as multi-task targets, most important first.
CAPTION_FIELDS = ("type", "colour", "gender")
EXTRA_FIELDS = ("usage", "season")

# Attribute subsets a caption may mention (type is always there: shoppers name a thing).
SUBSETS: tuple[tuple[str, ...], ...] = (
    ("gender", "colour", "type"),
    ("gender", "colour", "type"),
    ("colour", "type"),
    ("gender", "type"),
    ("type",),
)

EN_TEMPLATES = {
    ("gender", "colour", "type"): (
        "{gender} {colour} {type}",
        "{colour} {type} for {gender_for}",
        "{gender} {type} {colour}",
        "{colour} {gender} {type}",
        "{gender_pos} {colour} {type}",
        "{colour} {type} {gender}",
    ),
    ("colour", "type"): ("{colour} {type}", "{type} in {colour}", "{type} {colour}"),
    ("gender", "type"): ("{gender} {type}", "{type} for {gender_for}", "{gender_pos} {type}"),
    ("type",): ("{type}",),
}
ZH_TEMPLATES = {
    ("gender", "colour", "type"): (
        "{gender} {colour} {type}",
        "{gender}{colour}{type}",
        "{colour}{gender}{type}",
        "{colour}{type} {gender}",
        "{colour}的{gender}{type}",
    ),
    ("colour", "type"): ("{colour} {type}", "{colour}{type}", "{colour}的{type}"),
    ("gender", "type"): ("{gender} {type}", "{gender}{type}", "{type} {gender}"),
    ("type",): ("{type}",),
}
# Short colour forms ("黑") read oddly alone with a space; they are fine glued to a noun.
_FOR_GENDER = {
    "Men": ("men",),
    "Women": ("women",),
    "Boys": ("boys",),
    "Girls": ("girls",),
    "Unisex": ("men and women", "everyone"),
}
_POS_GENDER = {
    "Men": ("men's", "mens"),
    "Women": ("women's", "womens", "ladies"),
    "Boys": ("boys'", "boys"),
    "Girls": ("girls'", "girls"),
    "Unisex": ("unisex",),
}


@dataclass(frozen=True)
class Caption:
    text: str
    lang: str  # "en" | "zh"
    attributes: tuple[tuple[str, str], ...]  # (lexicon field, canonical value) it mentions


def product_attributes(product: Product, field_map: Mapping[str, str]) -> dict[str, str]:
    """Lexicon field -> canonical value for one product (type from its own 'type'
    attribute or derived from the title). Values not in the lexicon are dropped."""
    out: dict[str, str] = {}
    attrs = product.attributes or {}
    for fld, col in field_map.items():
        v = attrs.get(col)
        if fld == "type" and not v:
            v = lexicon.product_type(product.title)
        if v in (None, ""):
            continue
        term = lexicon.lookup(fld, str(v))
        if term is not None:
            out[fld] = term.value
    if "type" not in out:
        t = lexicon.product_type(product.title)
        if t:
            out["type"] = t
    return out


def _forms(fld: str, value: str, lang: str) -> tuple[str, ...]:
    term = lexicon.lookup(fld, value)
    if term is None:
        return (value.lower(),)
    forms = term.en if lang == "en" else term.zh
    if lang == "en" and fld == "gender":
        # "for men" is a template of its own; keep noun-like forms here
        forms = tuple(f for f in forms if not f.startswith("for ")) or forms
    return forms or (value.lower(),)


def attribute_captions(
    attrs: Mapping[str, str], n: int = 8, seed: int = 0, langs: Sequence[str] = ("en", "zh")
) -> list[Caption]:
    """`n` captions per language for one attribute combination, in varied wordings."""
    if "type" not in attrs:
        return []
    key = "|".join(f"{f}={attrs.get(f, '')}" for f in CAPTION_FIELDS)
    rng = random.Random(f"{seed}:{key}")
    out: list[Caption] = []
    seen: set[str] = set()
    for lang in langs:
        templates = EN_TEMPLATES if lang == "en" else ZH_TEMPLATES
        tries = 0
        made = 0
        while made < n and tries < 6 * n:
            tries += 1
            subset = tuple(f for f in rng.choice(SUBSETS) if f in attrs)
            if subset not in templates:
                subset = ("type",)
            tpl = rng.choice(templates[subset])
            words = {f: rng.choice(_forms(f, attrs[f], lang)) for f in subset}
            if "gender" in subset and lang == "en":
                words["gender_for"] = rng.choice(_FOR_GENDER.get(attrs["gender"], (words["gender"],)))
                words["gender_pos"] = rng.choice(_POS_GENDER.get(attrs["gender"], (words["gender"],)))
            text = tpl.format(**words).strip()
            if lang == "en" and rng.random() < 0.15:
                text = rng.choice(("a photo of ", "buy ", "")) + text
            if text in seen:
                continue
            seen.add(text)
            made += 1
            out.append(Caption(text, lang, tuple((f, attrs[f]) for f in CAPTION_FIELDS if f in subset)))
    return out


def captions_for_products(
    product_attrs: Sequence[Mapping[str, str]], n: int = 8, seed: int = 0, langs: Sequence[str] = ("en", "zh")
) -> tuple[list[Caption], list[list[int]]]:
    """Captions for every distinct (type, colour, gender) combination, and for each product
    the indices of the captions it is a positive for."""
    captions: list[Caption] = []
    index: dict[str, int] = {}
    by_combo: dict[tuple, list[int]] = {}
    per_product: list[list[int]] = []
    for attrs in product_attrs:
        combo = tuple(attrs.get(f) for f in CAPTION_FIELDS)
        if combo not in by_combo:
            ids = []
            core = {f: v for f, v in zip(CAPTION_FIELDS, combo) if v}
            for c in attribute_captions(core, n=n, seed=seed, langs=langs):
                k = c.text + "\x00" + repr(c.attributes)
                if k not in index:
                    index[k] = len(captions)
                    captions.append(c)
                ids.append(index[k])
            by_combo[combo] = ids
        per_product.append(by_combo[combo])
    return captions, per_product
