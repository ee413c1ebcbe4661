"""In-catalog queries that only `text_dense:e5` can vouch for on a fashion store with titles:
misspellings, synonyms and other wordings of the titles' product types that neither BM25 nor the
lexicon matches ("walet", "timepiece", "耳坠"). A confidence midpoint that empties out-of-catalog
pages must be weighed against these pages, the ones it would empty with them. Two disjoint sets, as
in nothing_queries.py: CALIBRATION (what `bench_nothing_titled.py --only fit` fits on) and MEASURED.
query -> the lexicon product types that answer it (a page "finds" when one is in its top 10).

Whether a query is e5-only depends on the store (its titles, its lexicon): bench_nothing_titled.py
keeps, per store, the ones the lexicon does not understand and whose page BM25 has no part in.
"""

from __future__ import annotations

CALIBRATION: dict[str, tuple[str, ...]] = {
    "purse": ("handbag", "clutch", "wallet"), "timepiece": ("watch",), "knapsack": ("backpack",),
    "cologne": ("perfume", "deodorant"), "tshrits": ("tshirt",), "sunglsses": ("sunglasses",),
    "handbgas": ("handbag",), "walet": ("wallet",), "bakpack": ("backpack",), "perfum": ("perfume",),
    "earings": ("earrings",), "braclet": ("bracelet",), "sandels": ("sandals",), "jeens": ("jeans",),
    "trowsers": ("trousers",), "skarf": ("scarf",), "sneekers": ("shoes",), "deodrant": ("deodorant", "perfume"),
    "耳坠": ("earrings",), "汗衫": ("tshirt", "shirt"), "钱夹": ("wallet",), "凉拖": ("flip flops", "slippers"),
    "古龙水": ("perfume", "deodorant"), "背囊": ("backpack",), "手环": ("bracelet", "watch"),
}  # fmt: skip

MEASURED: dict[str, tuple[str, ...]] = {
    "billfold": ("wallet",), "tshirtt": ("tshirt",), "sunglases": ("sunglasses",), "wallett": ("wallet",),
    "beltt": ("belt",), "sandalz": ("sandals",), "perfumme": ("perfume",), "earrrings": ("earrings",),
    "bracelett": ("bracelet",), "backpak": ("backpack",), "trouserz": ("trousers",), "jeanz": ("jeans",),
    "scarff": ("scarf",), "sokcs": ("socks",), "kurtaa": ("kurta",), "dresss": ("dress",), "hanbag": ("handbag",),
    "fragrence": ("perfume", "deodorant"), "lipstik": ("lipstick",),
    "领结": ("tie",), "裤衩": ("shorts", "briefs", "trunks"), "太陽眼鏡": ("sunglasses",),
    "拖孩": ("slippers", "flip flops"),
    "T恤衫": ("tshirt",), "恤衫": ("shirt", "tshirt"), "短裙": ("skirt", "dress"),
}  # fmt: skip

assert not set(CALIBRATION) & set(MEASURED), "a query in both sets"
