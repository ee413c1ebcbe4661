"""The ranker's features for one search's candidates; the list and its order are the feature schema.

Groups (each documented in docs/learning.md, "The ranker"):
- retrieval: the candidate's position in the fused list, its fused score relative to the top one,
  and for every retrieval component (text, photo, video, reviews, photo text) its 1/rank and its
  score relative to that component's best;
- similarity: cosine of the query's embeddings (e5, USE, and the aligned text->image space) with
  the product's text, text and photo embeddings, and (e5) with its reviews' E_review;
- attributes: share of the attributes the query understanding read (gender, colour, type, ...) that
  the product has, and how many were read;
- behaviour: smoothed CTR, popularity, recency, and this query text's smoothed CTR for the product,
  from the log strictly before the search being scored (see behaviour.py);
- profile: the shopper's profile (decayed mean of what they interacted with) vs the product:
  cosine per vector field, and attribute affinity (log of the share of their weight on the
  product's value of each attribute field over the share of all shoppers' weight on it), both
  centred on the candidates' mean so that fields every candidate shares (the gender and type the
  query asked for) cancel out and the ones that tell candidates apart (colour, usage, brand)
  remain; summed, max over fields, and summed with each field weighted by how far the shopper's
  distribution over it departs from everyone's (KL divergence: colour for a colour-loyal shopper);
  and on its own the affinity on the shopper's two most distinctive fields (largest KL) with the
  first one's KL; the cosine of the colour-histogram part of their mean photo vector with the
  product's (colours by how they look, not by name). All zero for unknown users.

A search without text (photo only) is scored with the query-text columns (`text_features`) held at
the ranker's training mean (rank/rerank.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..feedback.profiles import UserProfile
from ..records import ComponentScore

# 2: the reviews and video components, and the query's cosine with the product's E_review (review:e5)
# 3: the photo-text components (ocr, ocr_dense:*) and photo_and_words; the profile's affinity on the
#    shopper's two most distinctive attribute fields and how distinctive the first one is; the
#    profile's colours (colour-histogram part of the photo vectors) vs the product's
FEATURE_VERSION = 3
COMPONENTS = (
    "bm25",
    "text_dense:e5",
    "text_dense:use",
    "text_to_image",
    "image",
    "image_to_text",
    "attributes",
    "reviews",
    "text_to_video",
    "image_to_video",
    "ocr",
    "ocr_dense:e5",
    "ocr_dense:use",
    "photo_and_words",
)
# Components a search without query text cannot have: a photo-only search sets their features (and the
# other query-text features, `text_features`) to the ranker's training mean, the value of a typical candidate.
TEXT_COMPONENTS = (
    "bm25",
    "text_dense:e5",
    "text_dense:use",
    "text_to_image",
    "attributes",
    "reviews",
    "text_to_video",
    "ocr",
    "ocr_dense:e5",
    "ocr_dense:use",
    "photo_and_words",
)
# Query embedding vs product vectors. The aligned text->image cosine is not repeated here: it is the
# text_to_image component's score, and recomputing the heads' text tower would double its cost.
# review:e5 is E_review, the rating-weighted mean of the product's review vectors (0 without reviews).
QUERY_FIELDS = ("text:e5", "text:use", "review:e5")
PROFILE_FIELDS = ("text:e5", "image")
AFFINITY_SMOOTHING = 0.05
# Raw counts (clicks, impressions, history size) are left out on purpose: they only grow with time, so a
# model fit on older searches sees them out of range on newer ones (validation ROC-AUC 0.690 with them, 0.697
# without, on a 500-search simulated log).
BEHAVIOUR = ("ctr", "recency", "query_ctr")


def feature_names() -> list[str]:
    names = ["position_log", "fused_rel"]
    for c in COMPONENTS:
        names += [f"{c}:inv_rank", f"{c}:score_rel"]
    names += [f"cos:{f}" for f in QUERY_FIELDS]
    names += ["attr_match_share", "attr_understood"]
    names += list(BEHAVIOUR)
    names += ["profile_present", *[f"profile_cos:{f}" for f in PROFILE_FIELDS]]
    names += ["profile_affinity_sum", "profile_affinity_max", "profile_affinity_weighted"]
    names += ["profile_affinity_top1", "profile_affinity_top2", "profile_kl_top1", "profile_cos:colour"]
    return names


def text_features() -> list[int]:
    """Columns that only a query text gives values: its components, cosines, understood attributes and
    this query's CTR."""
    text = {f"{c}:{k}" for c in TEXT_COMPONENTS for k in ("inv_rank", "score_rel")}
    text |= {f"cos:{f}" for f in QUERY_FIELDS} | {"attr_match_share", "attr_understood", "query_ctr"}
    return [i for i, n in enumerate(feature_names()) if n in text]


def feature_groups() -> dict[str, list[int]]:
    """Features that stand or fall together, for leave-one-out explanations."""
    names = feature_names()
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        if n in ("position_log", "fused_rel"):
            g = "fused rank"
        elif n.split(":")[0] in ("cos",):
            g = "similarity " + n.split(":", 1)[1]
        elif n.startswith("attr_"):
            g = "understood attributes"
        elif n.startswith("query_"):
            g = "this query's clicks"
        elif n in BEHAVIOUR:
            g = "popularity/CTR"
        elif n.startswith("profile"):
            g = "shopper profile"
        else:
            g = n.rsplit(":", 1)[0]
        groups.setdefault(g, []).append(i)
    return groups


def colour_part(manifest) -> slice | None:
    """Where the colour histogram sits in the store's image-similarity vector (the parts are
    concatenated in name order, see features/combine.py); None when the store has no colour part."""
    weights = getattr(manifest, "image_part_weights", None) or {}
    encoders = getattr(manifest, "encoders", None) or {}
    start = 0
    for name in sorted(n for n, e in encoders.items() if e.get("modality") == "image"):
        if weights.get(name, 1.0) <= 0:
            continue
        dim = int(encoders[name]["dim"])
        if name == "colour":
            return slice(start, start + dim)
        start += dim
    return None


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


@dataclass
class Candidates:
    """One search's candidates as the ranker sees them (position = 0-based rank in the fused list)."""

    ids: list[str]
    docs: np.ndarray
    positions: np.ndarray
    fused: np.ndarray
    components: list[dict[str, ComponentScore]]


class FeatureBuilder:
    """Holds what is loaded once per store: vector indexes and every product's attributes."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.vectors = reader.vectors
        self.ids = reader.products.ids
        self.doc_of = {pid: d for d, pid in enumerate(self.ids)}
        self._attrs: list[dict[str, str]] | None = None
        self._codes: dict[str, np.ndarray] = {}  # field -> value code per doc (-1: none)
        self._value_code: dict[str, dict[str, int]] = {}  # field -> value -> code
        self._lower_code: dict[str, dict[str, int]] = {}  # field -> lower-cased value -> code
        self.colour = colour_part(reader.manifest)

    @property
    def attrs(self) -> list[dict[str, str]]:
        if self._attrs is None:
            a: list[dict[str, str]] = [{} for _ in self.ids]
            for doc, f, v in self.reader.products.db.execute("SELECT doc, field, value FROM attributes"):
                a[doc][f] = v
                vc = self._value_code.setdefault(f, {})
                if v not in vc:
                    vc[v] = len(vc)
                    self._lower_code.setdefault(f, {}).setdefault(v.lower(), vc[v])
                if f not in self._codes:
                    self._codes[f] = np.full(len(self.ids) + 1, -1, np.int32)  # last slot: unknown doc
                self._codes[f][doc] = vc[v]
            self._attrs = a
        return self._attrs

    def _share(self, field: str, docs: np.ndarray, table: dict[str, float]) -> np.ndarray:
        """table[value of `field`] for each doc (0 when absent), vectorised through value codes."""
        vc = self._value_code.get(field)
        if not vc:
            return np.zeros(len(docs), np.float32)
        lut = np.zeros(len(vc) + 1, np.float32)  # last slot: no value
        for v, x in table.items():
            c = vc.get(v)
            if c is not None:
                lut[c] = x
        return lut[self._codes[field][docs]]

    def attributes_of(self, pid: str) -> dict[str, str] | None:
        d = self.doc_of.get(pid)
        return None if d is None else self.attrs[d]

    def vectors_of(self, pid: str) -> dict[str, np.ndarray] | None:
        d = self.doc_of.get(pid)
        if d is None:
            return None
        out = {}
        for f in PROFILE_FIELDS:
            if f in self.vectors:
                found, v = self.vectors[f].vectors_of(np.asarray([d]))
                if found[0]:
                    out[f] = v[0]
        return out

    def build(
        self,
        cands: Candidates,
        qvecs: dict[str, np.ndarray],
        understood: dict[str, str],
        behaviour: np.ndarray,
        profile: UserProfile | None,
        depth: int,
        population: UserProfile | None = None,
    ) -> np.ndarray:
        n = len(cands.ids)
        cols: list[np.ndarray] = []
        pos = np.minimum(cands.positions, depth).astype(np.float32)
        cols.append(np.log1p(pos))
        top = float(cands.fused.max()) if n and cands.fused.max() > 0 else 1.0
        cols.append((cands.fused / top).astype(np.float32))
        inv = np.zeros((len(COMPONENTS), n), np.float32)
        sc = np.zeros((len(COMPONENTS), n), np.float32)
        where = {c: j for j, c in enumerate(COMPONENTS)}
        # gathered in lists and written once: per-element numpy writes cost more than the loop itself
        flat = [
            (where[name], i, cs.rank, cs.score)
            for i, comps in enumerate(cands.components)
            for name, cs in comps.items()
            if name in where
        ]
        if flat:
            jj, ii, rk, val = zip(*flat)
            inv[jj, ii] = 1.0 / np.asarray(rk, np.float32)
            sc[jj, ii] = val
        best = np.abs(sc).max(axis=1, keepdims=True) if n else np.zeros((len(COMPONENTS), 1), np.float32)
        sc = np.divide(sc, best, out=sc.copy(), where=best > 0)
        for j in range(len(COMPONENTS)):
            cols += [inv[j], sc[j]]
        valid = cands.docs >= 0
        docs = np.where(valid, cands.docs, 0)
        self.attrs  # noqa: B018  (loads the attribute codes once)
        coded = np.where(valid, cands.docs, len(self.ids))
        fetched: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        def vecs(f: str) -> tuple[np.ndarray, np.ndarray]:
            if f not in fetched:
                fetched[f] = self.vectors[f].vectors_of(docs)
            return fetched[f]

        for f in QUERY_FIELDS:
            cos = np.zeros(n, np.float32)
            q = qvecs.get(f)
            if q is not None and f in self.vectors and n:
                found, v = vecs(f)
                cos = np.where(found & valid, v @ q, 0.0).astype(np.float32)
            cols.append(cos)
        share = np.zeros(n, np.float32)
        if understood:
            for f, value in understood.items():
                code = self._lower_code.get(f, {}).get(str(value).lower())
                if code is not None:
                    share += self._codes[f][coded] == code
            share /= len(understood)
        cols += [share, np.full(n, math.log1p(len(understood)), np.float32)]
        out = np.column_stack(cols) if cols else np.zeros((n, 0), np.float32)
        prof = np.zeros((n, 8 + len(PROFILE_FIELDS)), np.float32)
        if profile is not None and n:
            prof[:, 0] = 1.0
            for j, f in enumerate(PROFILE_FIELDS):
                pv = profile.vectors.get(f)
                if pv is not None and f in self.vectors:
                    found, v = vecs(f)
                    cos = np.where(found & valid, v @ pv, 0.0)
                    prof[:, 1 + j] = cos - cos.mean()
            fields = list(profile.affinities)
            share = np.zeros((n, len(fields)), np.float32)
            pop = population.affinities if population is not None else {}
            kl = np.zeros(len(fields), np.float32)
            for j, f in enumerate(fields):
                a = AFFINITY_SMOOTHING
                kl[j] = sum(
                    p * math.log((p + a) / (pop.get(f, {}).get(v, 0.0) + a)) for v, p in profile.affinities[f].items()
                )
                # log lift of the user's share over everyone's: Black is everyone's favourite colour,
                # what sets a shopper apart is liking it more than the others do
                mine = self._share(f, coded, profile.affinities[f])
                base = self._share(f, coded, pop.get(f, {}))
                share[:, j] = np.log((mine + AFFINITY_SMOOTHING) / (base + AFFINITY_SMOOTHING))
            if fields:
                centred = share - share.mean(axis=0, keepdims=True)
                prof[:, 1 + len(PROFILE_FIELDS)] = centred.sum(axis=1)
                prof[:, 2 + len(PROFILE_FIELDS)] = centred.max(axis=1)
                prof[:, 3 + len(PROFILE_FIELDS)] = centred @ np.maximum(kl, 0.0)
                # the fields this shopper departs from everyone most on (colour for a colour-loyal one),
                # each on its own, so the net need not find them inside the sums
                distinct = np.argsort(-kl, kind="stable")[:2]
                prof[:, 4 + len(PROFILE_FIELDS)] = centred[:, distinct[0]]
                if len(distinct) > 1:
                    prof[:, 5 + len(PROFILE_FIELDS)] = centred[:, distinct[1]]
                prof[:, 6 + len(PROFILE_FIELDS)] = max(float(kl[distinct[0]]), 0.0)
            pv = profile.vectors.get("image")
            if self.colour is not None and pv is not None and "image" in self.vectors:
                # the colour histogram's slice of the photo vectors: the colours this shopper's
                # products have, whatever each colour is called (Charcoal is near Black)
                found, v = vecs("image")
                c = _unit(v[:, self.colour]) @ _unit(pv[self.colour])
                cos = np.where(found & valid, c, 0.0)
                prof[:, 7 + len(PROFILE_FIELDS)] = cos - cos.mean()
        return np.concatenate([out, behaviour.astype(np.float32), prof], axis=1).astype(np.float32)
