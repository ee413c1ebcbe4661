"""An independent grader for search-quality tests, and the chance levels their gates are held against.

Nothing here imports shoplens: relevance comes from the catalog's own columns (`gender`, `baseColour`,
`subCategory`) plus title-word rules written here, and queries are worded by the templates below
(English and Chinese), not by the lexicon the engine indexes and understands with. A gate built on
this cannot pass merely because the engine agrees with itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

# kind -> (subCategory values, title words that must appear (any), title words that must not, EN, ZH)
KINDS: dict[str, tuple[set[str], set[str], set[str], str, str]] = {
    "shoes": ({"Shoes"}, set(), {"heels", "flats", "sandal", "sandals"}, "shoes", "鞋"),
    "watch": ({"Watches"}, set(), set(), "watch", "手表"),
    "bag": ({"Bags"}, set(), set(), "bag", "包"),
    "sunglasses": ({"Eyewear"}, set(), set(), "sunglasses", "太阳镜"),
    "wallet": ({"Wallets"}, set(), set(), "wallet", "钱包"),
    "belt": ({"Belts"}, set(), set(), "belt", "皮带"),
    "flip flops": ({"Flip Flops"}, set(), set(), "flip flops", "人字拖"),
    "socks": ({"Socks"}, set(), set(), "socks", "袜子"),
    "tshirt": ({"Topwear"}, {"tshirt", "t-shirt", "tshirts", "t-shirts", "tee"}, set(), "t-shirt", "T恤"),
    "shirt": ({"Topwear"}, {"shirt", "shirts"}, set(), "shirt", "衬衫"),
    "jeans": ({"Bottomwear"}, {"jeans"}, set(), "jeans", "牛仔裤"),
    "shorts": ({"Bottomwear"}, {"shorts"}, set(), "shorts", "短裤"),
    "trousers": ({"Bottomwear"}, {"trousers", "pants", "track"}, set(), "trousers", "长裤"),
    "skirt": ({"Bottomwear"}, {"skirt", "skirts"}, set(), "skirt", "裙子"),
    "kurta": ({"Topwear"}, {"kurta", "kurtas", "kurti"}, set(), "kurta", "库尔塔"),
    "top": ({"Topwear"}, {"top", "tops"}, set(), "top", "上衣"),
    "jacket": ({"Topwear"}, {"jacket", "jackets"}, set(), "jacket", "夹克"),
    "sweatshirt": ({"Topwear"}, {"sweatshirt", "sweatshirts"}, set(), "sweatshirt", "卫衣"),
}
GENDERS = {"Men": ("men", "男士"), "Women": ("women", "女士")}
COLOURS = {
    "Black": ("black", "黑色"),
    "White": ("white", "白色"),
    "Blue": ("blue", "蓝色"),
    "Red": ("red", "红色"),
    "Grey": ("grey", "灰色"),
    "Brown": ("brown", "棕色"),
    "Green": ("green", "绿色"),
    "Pink": ("pink", "粉色"),
    "Purple": ("purple", "紫色"),
    "Navy Blue": ("navy blue", "藏青色"),
}


def _words(title: str) -> set[str]:
    return set(re.findall(r"[a-z0-9-]+", (title or "").lower()))


def kind_of(row: dict) -> str | None:
    """The product kind from the catalog's subCategory and title words; None when no rule applies."""
    words = _words(row.get("productDisplayName") or row.get("title") or "")
    for kind, (subcats, need, never, _, _) in KINDS.items():
        if row.get("subCategory") in subcats and (not need or words & need) and not words & never:
            return kind
    return None


def grade(row: dict, want: dict[str, str]) -> int:
    """2 = kind, gender and colour match; 1 = kind and gender; 0 otherwise. Unisex fits either gender."""
    if kind_of(row) != want["kind"] or row.get("gender") not in (want["gender"], "Unisex"):
        return 0
    return 2 if row.get("baseColour") == want["colour"] else 1


def word(want: dict[str, str], lang: str, template: int = 0) -> str:
    g, c, k = GENDERS[want["gender"]], COLOURS[want["colour"]], KINDS[want["kind"]]
    if lang == "zh":
        return f"{g[1]} {c[1]} {k[4]}" if template == 0 else f"{c[1]}的{g[1]}{k[4]}"
    return f"{g[0]} {c[0]} {k[3]}" if template == 0 else f"{c[0]} {k[3]} for {g[0]}"


def make_queries(rows: Sequence[dict], min_exact: int = 2) -> list[dict[str, str]]:
    """Every (kind, gender, colour) with at least `min_exact` exact matches among `rows`."""
    combos = Counter(
        (kind_of(r), r["gender"], r["baseColour"])
        for r in rows
        if kind_of(r) and r["gender"] in GENDERS and r["baseColour"] in COLOURS
    )
    return [{"kind": k, "gender": g, "colour": c} for (k, g, c), n in sorted(combos.items()) if n >= min_exact]


def ndcg_at(gains: Sequence[int], all_gains: Sequence[int], k: int = 10) -> float:
    """NDCG@k with exponential gain, ideal from every judged product."""

    def dcg(gs):
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(list(gs)[:k]))

    ideal = dcg(sorted(all_gains, reverse=True))
    return dcg(gains) / ideal if ideal else 0.0


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) over lower-cased title words: the reference a hybrid must beat."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75):
        self.toks = [re.findall(r"[a-z0-9]+", d.lower()) for d in docs]
        self.k1, self.b = k1, b
        self.avg = sum(map(len, self.toks)) / max(1, len(self.toks))
        df = Counter(t for ts in self.toks for t in set(ts))
        n = len(self.toks)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.tf = [Counter(ts) for ts in self.toks]

    def rank(self, query: str) -> list[int]:
        q = re.findall(r"[a-z0-9]+", query.lower())
        scores = []
        for i, tf in enumerate(self.tf):
            s = 0.0
            for t in q:
                if t in tf:
                    f = tf[t]
                    s += (
                        self.idf[t]
                        * f
                        * (self.k1 + 1)
                        / (f + self.k1 * (1 - self.b + self.b * len(self.toks[i]) / self.avg))
                    )
            scores.append(s)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def hypergeom_tail(population: int, relevant: int, drawn: int, at_least: int) -> float:
    """P(a random ranking puts >= `at_least` of `relevant` products among its top `drawn` of `population`)."""
    total = math.comb(population, drawn)
    return (
        sum(
            math.comb(relevant, x) * math.comb(population - relevant, drawn - x)
            for x in range(at_least, min(relevant, drawn) + 1)
        )
        / total
    )


def binom_tail(n: int, p: float, at_least: int) -> float:
    """P(Binomial(n, p) >= at_least)."""
    return sum(math.comb(n, x) * p**x * (1 - p) ** (n - x) for x in range(at_least, n + 1))


def sum_tail(pmfs: Sequence[Sequence[float]], at_least: int) -> float:
    """P(sum of independent counts >= at_least), each count given by its pmf (index = value)."""
    dist = [1.0]
    for pmf in pmfs:
        out = [0.0] * (len(dist) + len(pmf) - 1)
        for i, a in enumerate(dist):
            for j, b in enumerate(pmf):
                out[i + j] += a * b
        dist = out
    return sum(dist[at_least:])


def hypergeom_pmf(population: int, relevant: int, drawn: int) -> list[float]:
    total = math.comb(population, drawn)
    return [
        math.comb(relevant, x) * math.comb(population - relevant, drawn - x) / total
        for x in range(0, min(relevant, drawn) + 1)
    ]


def min_passing(tail, limit: float = 1e-3, upto: int = 10_000) -> int:
    """The smallest threshold t whose chance tail(t) is below `limit`: a gate a random ranking passes
    with probability < `limit`."""
    for t in range(upto + 1):
        if tail(t) < limit:
            return t
    raise ValueError("no threshold is far enough above chance; use more queries or products")
