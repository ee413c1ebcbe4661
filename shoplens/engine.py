"""The facade: `Engine.build / open / search / search_batch / align`.

The CLI and (later) the HTTP server call only this; it wires the pipeline
stages (catalog -> features -> store -> search) with explicit config.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .catalog import load_catalog, log_issues, log_report
from .config import BuildConfig, EngineConfig, QualityConfig, RecommendConfig
from .config_file import DEFAULT, Settings, build_fingerprint, load_settings
from .encoders import registry
from .encoders.base import Encoder
from .features.cache import FeatureCache
from .features.extract import FeatureSet, encode_catalog
from .feedback.explore import Exploration, explore_order
from .feedback.log import EventReport, FeedbackLog
from .preprocess.lexicon import Lexicon, lexicon_for
from .recommend.service import Recommendations
from .records import IngestIssue, IngestReport, Product, SearchResult
from .search.query import Query
from .search.searcher import QueryEncoder, Searcher
from .store.backends import parse_vectors
from .store.builder import write_generation
from .store.layout import StoreError, current_generation, writer_lock
from .store.manifest import Manifest
from .store.products import ProductTable
from .store.reader import StoreReader

log = logging.getLogger(__name__)


class Encoders:
    """The configured encoders, created lazily once per engine (ONNX export cached under the store)."""

    def __init__(self, config: EngineConfig, store: Path):
        ec = config.encoders
        cache_dir = Path(ec.cache_dir) if ec.cache_dir else store / "cache" / "onnx"
        self.cache_dir = cache_dir  # where Ray encoder actors find the same ONNX exports
        threads, batch = ec.threads, ec.batch_size
        self.text: dict[str, Encoder] = {
            n: registry.create(n, threads=threads, batch_size=batch, cache_dir=cache_dir) for n in ec.text
        }
        self.image: dict[str, Encoder] = {
            n: registry.create(n, threads=threads, batch_size=batch, cache_dir=cache_dir, int8=ec.int8)
            for n in ec.image
        }

    @property
    def all(self) -> list[Encoder]:
        return [*self.text.values(), *self.image.values()]

    def fingerprints(self) -> dict[str, str]:
        return {e.name: e.fingerprint() for e in self.all}


class Engine:
    """The one object the CLI, the server and applications call: it reads a store's live generation and
    loads the models lazily, once, so every interface answers a query the same way and a process pays
    for model loading once. Usable as a context manager: `with Engine.open(store) as engine:` closes
    what it opened."""

    def __init__(
        self,
        store_dir: str | Path,
        config: EngineConfig | None = None,
        encoders: Encoders | None = None,
        *,
        settings: Settings | None = None,
    ):
        """Prefer `Engine.open`; this reads the live generation of an existing store.
        `encoders` lets a build hand over its already-loaded models; `settings` one that is already resolved."""
        self.store = Path(store_dir)
        self.settings = settings or load_settings(self.store, engine=config)
        self.config = self.settings.engine
        self.lexicon: Lexicon = lexicon_for(self.config.lexicon)
        self.reader = StoreReader(self.store, self.config.index)
        self.encoders = encoders or Encoders(self.config, self.store)
        self._follow_store_precision()
        self.heads = self._load_heads(self.reader.manifest.heads)
        qenc = QueryEncoder(self.encoders.text, self.encoders.image, self.config.index)
        quality = self._quality_for_heads()
        self.searcher = Searcher(
            self.reader, qenc, self.heads, self.config.search, self.lexicon, self._image_part_weights(), quality
        )
        self.report: IngestReport | None = None
        self._feedback: FeedbackLog | None = None
        self._explore_rng = random.Random()  # which logged pages are explored: not reproducible on purpose
        # Kept across `align` (which re-runs __init__ on the new generation).
        self.recommend_config: RecommendConfig = self.config.recommend
        self._recommendations: Recommendations | None = None
        self.reranker: Any | None = None
        self.ranker_problem: str | None = None  # why a stored ranker is not used, when it is not
        self._open_ranker()
        self._warm = threading.Thread(target=self.searcher.warm_up, name="shoplens-warm-up", daemon=True)
        if quality.warm_up:  # off the hot path: a server's first shopper should not load the segmenter
            self._warm.start()

    def _release_reader(self) -> None:
        """Close the store's files once the warm-up thread is done with them: closing a SQLite
        connection while another thread steps a statement on it can crash the process."""
        if self._warm.is_alive():
            self.searcher.stop_warm_up()
            self._warm.join()
        self.reader.close()

    def warm_up(self, images: bool = True, timeout: float | None = None) -> None:
        """Wait until what queries need is loaded (a server calls this before taking traffic);
        `images` also loads the photo encoders."""
        if self._warm.is_alive() or self._warm.ident is not None:
            self._warm.join(timeout)
        else:
            self.searcher.warm_up(images=False)
        if images:
            self.searcher.warm_up(images=True)

    # ---- opening / building ---------------------------------------------------------------
    @classmethod
    def open(
        cls, store_dir: str | Path, config: EngineConfig | None = None, *, overrides: dict[str, Any] | None = None
    ) -> Engine:
        """Open a store with its effective configuration: `overrides` (dotted keys such as
        "search.candidates", e.g. from command-line flags) > values of `config` that differ from
        the defaults > STORE/shoplens.toml > defaults."""
        return cls(store_dir, settings=load_settings(store_dir, engine=config, overrides=overrides))

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _follow_store_precision(self) -> None:
        """Query photos are encoded as the store's vectors were: a store built with int8 image
        encoders (or without) is searched that way even if the configuration now says otherwise,
        until `shoplens index` re-encodes it; float and int8 vectors are never compared."""
        recorded = self.reader.manifest.encoders or {}
        for name, enc in self.encoders.image.items():
            fp = (recorded.get(name) or {}).get("fingerprint")
            switch = getattr(enc, "use_int8", None)
            if fp is None or switch is None or enc.fingerprint() == fp:
                continue
            was = bool(getattr(enc, "int8", False))
            switch(not was)
            if enc.fingerprint() == fp:
                log.warning(
                    "%s: its %s vectors were made %s; query photos are encoded the same way until "
                    "`shoplens index` re-encodes the store with the configured encoders.int8 = %s",
                    self.store,
                    name,
                    "without int8 quantisation" if was else "by the int8-quantised encoder",
                    str(was).lower(),
                )
            else:
                switch(was)  # another model version altogether: left as it was

    def _image_part_weights(self) -> dict[str, float] | None:
        """The weights query photos are combined with: the ones the store's vectors were made with.
        Configured weights that differ take effect at the next `shoplens index` (which re-combines)."""
        recorded = self.reader.manifest.image_part_weights
        if not recorded:
            return self.config.index.image_part_weights
        configured = {n: self.config.index.image_part_weights.get(n, 1.0) for n in recorded}
        if configured != recorded:
            log.warning(
                "%s: image vectors were combined with part weights %s, the configuration says %s; searching "
                "with the store's until `shoplens index` re-combines them",
                self.store,
                recorded,
                configured,
            )
        return recorded

    @classmethod
    def build(
        cls,
        catalog: str | Path | Sequence[str | Path],
        store_dir: str | Path,
        config: EngineConfig | None = None,
        build: BuildConfig | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        reviews: str | Path | None = None,
    ) -> Engine:
        """Index a catalog into a store (create, or upsert into an existing one) and open it.
        Configuration precedence as in `open`; `build` fields that differ from the defaults win over
        the store file's [build] table. `reviews`: a reviews file (`product_id,text,rating,date`,
        CSV or JSONL) whose reviews are added to the catalog's products."""
        store = Path(store_dir)
        settings = load_settings(store, engine=config, build=build, overrides=overrides)
        config, build = settings.engine, settings.build
        parse_vectors(config.index.vectors)  # a bad --vectors fails now, not after encoding
        lex = lexicon_for(config.lexicon)
        catalogs = [catalog] if isinstance(catalog, (str, Path)) else list(catalog)
        with writer_lock(store):
            products, reports = [], []
            for c in catalogs:
                ps, rep = load_catalog(c)
                products += ps
                reports.append(rep)
            products = _dedupe_across_catalogs(products, reports)
            if reviews is not None:
                from .preprocess.reviews import attach_reviews, load_reviews

                by_id, review_issues = load_reviews(reviews)
                products, unknown = attach_reviews(products, by_id, str(reviews))
                log_issues("review skipped", review_issues + unknown)
            for rep in reports:
                log_report(rep)
            if not products:
                raise StoreError("the catalog has no valid products; nothing was changed in the store")
            merged, changes = _merge_with_store(store, products, build)
            log.info("store %s: %s", store, ", ".join(f"{k} {v}" for k, v in changes.items()))
            encoders = Encoders(config, store)
            cache = FeatureCache(store / "cache" / "features.sqlite")
            try:
                fs = _features(merged, encoders, cache, config, build.progress, build, store)
                heads, heads_info = _heads_for_build(store, fs, encoders, cache, config, build)
                ingest = {
                    "catalog_rows": sum(r.rows_read for r in reports),
                    "rows_skipped": sum(len(r.rows_skipped) for r in reports),
                    "fields_dropped": sum(len(r.field_issues) for r in reports) + len(fs.issues),
                    "duplicates": sum(len(r.duplicates) for r in reports),
                    **changes,
                }
                log_issues("image or video not used", fs.issues)
                manifest = write_generation(
                    store,
                    fs,
                    encoders.all,
                    heads,
                    heads_info,
                    [str(Path(c).resolve()) for c in catalogs],
                    ingest,
                    config.index,
                    lex,
                    build_fingerprint(config, lex.fingerprint()),
                )
                log.debug(
                    "%s: timings (s) %s", manifest.generation, {k: round(v, 2) for k, v in manifest.timings_s.items()}
                )
            finally:
                cache.close()
        engine = cls(store, encoders=encoders, settings=settings)
        engine.report = reports[0] if len(reports) == 1 else None
        return engine

    @staticmethod
    def migrate(store_dir: str | Path) -> dict[str, Any]:
        """Upgrade a store built by an older shoplens to the current schema, in place and
        atomically (a new generation; the old one stays beside it). Loads no model."""
        from .store.migrate import migrate_store

        store = Path(store_dir)
        if not store.is_dir() or current_generation(store) is None:
            raise StoreError(f"{store}: no shoplens store here; nothing to migrate")
        settings = load_settings(store)
        with writer_lock(store):
            old, new, gen = migrate_store(store, keep=settings.engine.index.keep_generations)
        return {"from": old, "to": new, "generation": gen}

    @staticmethod
    def describe(
        store_dir: str | Path, overrides: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """What `shoplens info` shows: the effective configuration with each value's source, the
        live generation's manifest (read as the current schema), and whether the store's vectors
        were built with these settings. Loads no model. `environ`: the variables settings may name
        ([server] values `shoplens serve` would take from its environment)."""
        from .store.manifest import read_manifest

        store = Path(store_dir)
        settings = load_settings(store, overrides=overrides, environ=environ)
        gen = current_generation(store) if store.is_dir() else None
        if gen is None:
            raise StoreError(
                f"{store}: no shoplens store here; create one with `shoplens index CATALOG --store {store}`"
            )
        raw = read_manifest(gen)
        manifest = Manifest.load(gen)
        lex = lexicon_for(settings.engine.lexicon)
        wanted = build_fingerprint(settings.engine, lex.fingerprint())
        return {
            "store": str(store),
            "config_file": str(settings.file) if settings.file else None,
            "config": settings.effective(),
            "config_fingerprint": wanted,
            "built_with_this_config": (
                None if manifest.config_fingerprint is None else manifest.config_fingerprint == wanted
            ),
            "stored_schema_version": raw.get("schema_version"),
            "manifest": json.loads(manifest.to_json()),
        }

    def _quality_for_heads(self) -> QualityConfig:
        """The store's quality settings with the confidence midpoints its heads were calibrated for
        (heads.json "confidence_midpoints") in place of the defaults: a store still on earlier shipped
        heads (default_heads/previous/) keeps the text->photo midpoint fitted for them until its next
        `shoplens index`, instead of the current heads' one. A midpoint set in the store's file, the
        environment or code wins."""
        quality = self.config.quality
        fitted = (self.heads.meta.get("confidence_midpoints") if self.heads is not None else None) or {}
        mids = dict(quality.cosine_midpoints)
        for name, (mid, scale) in fitted.items():
            if self.settings.sources.get(f"quality.cosine_midpoints.{name}", DEFAULT) == DEFAULT:
                mids[name] = (float(mid), float(scale))
        return quality if mids == quality.cosine_midpoints else quality.with_(cosine_midpoints=mids)

    def _load_heads(self, info: dict[str, Any] | None):
        if not info:
            return None
        from .align.heads import Heads, HeadsError, default_heads_path, previous_default_heads

        path = default_heads_path() if info.get("source") == "shipped defaults" else Path(info["path"])
        try:
            heads = Heads.load(path if path.is_absolute() else self.store / path)
        except (HeadsError, FileNotFoundError) as e:
            why = f"cannot load them ({e})"
        else:
            why = f"they are now {heads.fingerprint}"
            if heads.fingerprint == info.get("fingerprint"):
                return heads
            if info.get("space_fingerprint") and heads.space_fingerprint == info["space_fingerprint"]:
                return heads  # same shared space, only the attribute classifiers were refit
            if info.get("fingerprint") in (heads.meta.get("same_space_as") or ()):
                return heads  # older heads (e.g. earlier shipped defaults) with these very towers
            if info.get("source") == "shipped defaults":
                older = previous_default_heads(info.get("fingerprint"))
                if older is not None:  # shipped by an earlier release: its space, its queries
                    return older
        # Never mix: the store's aligned vectors were made by other heads (e.g. shoplens was
        # upgraded and ships new defaults). Cross-modal components stay off until re-indexing.
        log.warning(
            "%s: aligned vectors were made by heads %s but %s; text->image and image->text are off "
            "until `shoplens index` (or `align`) re-embeds the store (cached features make that quick)",
            self.store,
            info.get("fingerprint"),
            why,
        )
        return None

    # ---- querying -------------------------------------------------------------------------
    @property
    def manifest(self) -> Manifest:
        """The generation this engine reads: which encoders and heads made its vectors, so callers can
        tell whether a store must be re-indexed before its results are compared with another's."""
        return self.reader.manifest

    def search(
        self,
        text: str | None = None,
        image: str | bytes | Path | None = None,
        k: int = 10,
        filters: dict[str, Any] | None = None,
        *,
        facets: list[str] | bool | None = None,
        strict_attributes: bool = False,
        weights: dict[str, float] | None = None,
        user: str | None = None,
        session: str | None = None,
        log: bool = False,
        rerank: bool = True,
        explain: bool = False,
    ) -> SearchResult:
        """`rerank=False`: without the learned ranker; `explain`: the ranker's strongest features per hit.
        `log=True` records the search in the store's feedback log and sets `result.query_id`, which
        the shopper's events (impressions, clicks, ...) then cite."""
        q = Query(
            text=text,
            image=str(image) if isinstance(image, Path) else image,
            k=k,
            filters=dict(filters or {}),
            facets=facets,
            strict_attributes=strict_attributes,
            weights=weights,
            user=user,
            session=session,
        )
        return self.search_query(q, log=log, rerank=rerank, explain=explain)

    def search_query(self, q: Query, log: bool = False, rerank: bool = True, explain: bool = False) -> SearchResult:
        """`rerank=False` shows the engine without the learned ranker (when the store has one)."""
        if q.image is not None:
            self._check_photo_encoders()
        rr = self.reranker if rerank else None
        if rr is not None and (q.text or q.image is not None):  # photo-only searches are re-ranked too
            q.validate()
            k = q.k
            q.k = max(k, rr.depth)
            try:
                res = self.searcher.search(q)
            finally:
                q.k = k
            res.query["k"] = k
            res = rr.rerank(res, q.text, q.user, k, explain)
        else:
            res = self.searcher.search(q)
        if log:
            attributes = {k: v for k, v in res.query.items() if k not in ("text", "image")}
            explored = self.exploration(len(res.hits))
            if explored is not None:  # the shopper sees, and the log records, the explored order
                res.hits = explored.apply(res.hits)
                attributes["explored"] = explored.log_attributes()
            res.query_id = self.feedback.log_query(
                q.text, res.ids, user_id=q.user, client_id=q.user, session_id=q.session, attributes=attributes
            )
        return res

    def exploration(self, n: int) -> Exploration | None:
        """How to show a logged page of `n` hits: a bounded FairPairs permutation on the `[ranker]
        explore` share of logged searches (feedback/explore.py), else None (as ranked)."""
        r = self.config.ranker
        return explore_order(n, self._explore_rng, r.explore, r.explore_depth, keep_first=not r.explore_first)

    def _check_photo_encoders(self) -> None:
        """A query photo is only comparable with the stored photos when the same CNN versions encode
        both; after an upgrade that changes an image encoder (new fingerprint) photo queries are
        refused until `shoplens index` re-encodes the store's photos, instead of ranking by noise."""
        if getattr(self, "_photo_encoders_ok", False):
            return
        stored = self.reader.manifest.encoders
        stale = [
            n for n, e in self.encoders.image.items() if n in stored and stored[n].get("fingerprint") != e.fingerprint()
        ]
        if stale:
            raise StoreError(
                f"{self.store}: its photos were encoded by another version of {', '.join(stale)}; photo queries "
                f"need them re-encoded: run `shoplens index CATALOG --store {self.store}` (text search works meanwhile)"
            )
        self._photo_encoders_ok = True

    @property
    def feedback(self) -> FeedbackLog:
        """The store's behaviour log (opened on first use; it outlives index rebuilds)."""
        if self._feedback is None:
            self._feedback = FeedbackLog(self.store)
        return self._feedback

    def record_events(self, events: Iterable[Any]) -> EventReport:
        """Store UBI events (impression, click, add_to_cart, purchase, dwell); bad ones are refused with why."""
        return self.feedback.record_events(events)

    def search_batch(self, queries: Iterable[dict[str, Any]], k: int = 10) -> list[SearchResult]:
        """Batch search: each dict has any of text/image/filters; models are loaded once."""
        return [self.search_query(Query.from_json(q, k=k, where=f"query {i + 1}")) for i, q in enumerate(queries)]

    # ---- similar items and recommendations ------------------------------------------------
    @property
    def recommendations(self) -> Recommendations:
        """Built on first use, so a process that never calls `similar` or `recommend` pays nothing for them."""
        if self._recommendations is None:
            self._recommendations = Recommendations(
                self.reader, lambda: self.feedback, self.searcher._mask, self.recommend_config
            )
        return self._recommendations

    def similar(
        self, product_id: str, k: int = 10, by: str = "both", filters: dict[str, Any] | None = None
    ) -> SearchResult:
        """Products like `product_id` by photo, text or both, from stored vectors (no model call);
        itself and copies of its photo excluded, near-duplicates collapsed, diversified by MMR.
        An id not in the store raises `QueryError` naming it."""
        return self.recommendations.similar(product_id, k, by, filters)

    def recommend(self, user: str, k: int = 10, filters: dict[str, Any] | None = None) -> SearchResult:
        """For a shopper: co-view neighbours of their recent items, their profile's nearest products and
        recently viewed ones, fused; nothing they bought. A user with no history gets popular items
        (`result.query["source"] == "popular"`)."""
        return self.recommendations.recommend(user, k, filters)

    def products(self, ids: Sequence[str]) -> dict[str, Product]:
        """Catalog records by id; ids the store no longer holds are left out rather than raising, since
        a page of ids can outlive a reindex that deleted some of them."""
        table: ProductTable = self.reader.products
        docs = {table.doc_of(i): i for i in ids}
        got = table.get([d for d in docs if d is not None])
        return {docs[d]: p for d, p in got.items()}

    def thumbnail(self, product_id: str) -> Path | None:
        """The key-frame a product with a video shows when it has no photo (a file under the store)."""
        path = self.reader.thumbnail(product_id)
        return path if path is not None and path.is_file() else None

    def extracted_attributes(self, pid: str) -> dict[str, dict[str, Any]]:
        """`extracted:<field>` -> {value, source (title/description/review/ocr), surface, precision}."""
        from .store.extracted import read_sources

        table: ProductTable = self.reader.products
        doc = table.doc_of(pid)
        if doc is None:
            return {}
        values = dict(table.db.execute("SELECT field, value FROM attributes WHERE doc=?", (doc,)))
        return {f: {"value": values.get(f), **src} for f, src in read_sources(table.db, doc).items()}

    # ---- learning from shoppers ----------------------------------------------------------
    def _open_ranker(self) -> None:
        from .rank.rerank import open_reranker

        try:
            self.reranker = open_reranker(self.store, self.manifest, self.reader, self.searcher, lambda: self.feedback)
        except StoreError as e:  # refused (the store's vectors changed) or unreadable: search without it
            self.ranker_problem = str(e)
            logging.getLogger(__name__).warning("%s", e)

    @property
    def ranker(self) -> Any | None:
        """The learned ranker in use (None: none trained, or refused; see `ranker_problem`)."""
        return self.reranker.ranker if self.reranker is not None else None

    @property
    def ranker_fingerprint(self) -> str:
        """What a ranker for this store must have been trained on (its vectors' sources, feature schema)."""
        from .rank.storage import fingerprint

        return fingerprint(self.manifest)

    def train_ranker(self, config: Any | None = None, incremental: bool = False) -> dict[str, Any]:
        """Train the ranker on the feedback log (or update it with what was logged since), publish it as
        the store's next ranker version and use it from now on. `config` defaults to the store's [ranker]
        settings (shoplens.toml). Too little feedback raises
        `TooLittleFeedback` and changes nothing."""
        from .rank.publish import train_and_publish

        if config is None and not incremental:  # an update keeps the settings the ranker was trained with
            config = self.config.ranker
        metrics = train_and_publish(
            self.store, self.manifest, self.reader, self.searcher, self.feedback, config, incremental
        )
        self.reranker, self.ranker_problem = None, None
        self._open_ranker()
        return metrics

    # ---- alignment ------------------------------------------------------------------------
    def align(self, config: Any | None = None, progress: bool = True, compare_defaults: bool = True) -> dict[str, Any]:
        """Retrain the alignment heads on this store's pairs and publish a re-embedded generation.
        `compare_defaults=False` adopts the trained heads even where the shipped ones score better."""
        from .align.run import align_store

        with writer_lock(self.store):
            products = self.reader.products.all_products()
            cache = FeatureCache(self.store / "cache" / "features.sqlite")
            fs = _features(products, self.encoders, cache, self.config, progress, store=self.store)
            t0 = time.perf_counter()
            heads, metrics, path = align_store(
                fs,
                cache,
                {**self.encoders.text, **self.encoders.image},
                config,
                self.store / "heads",
                field_map=self.manifest.field_map or None,  # the store's own map, not re-inferred
                progress=progress,
                compare_defaults=compare_defaults,
            )
            fs.timings_s["align"] = time.perf_counter() - t0
            info = _heads_info(self.store, heads, metrics, path)
            write_generation(
                self.store,
                fs,
                self.encoders.all,
                heads,
                info,
                self.manifest.catalogs,
                {**self.manifest.ingest, "aligned": True},
                self.config.index,
                self.lexicon,
                build_fingerprint(self.config, self.lexicon.fingerprint()),
            )
            cache.close()
        self._release_reader()
        Engine.__init__(
            self, self.store, encoders=self.encoders, settings=self.settings
        )  # reopen on the new generation
        return metrics

    def close(self) -> None:
        """Release the store's files and the models' sessions; the engine is unusable afterwards."""
        self._release_reader()
        for enc in self.encoders.all:
            close = getattr(enc, "close", None)
            if close is not None:
                close()
        if self._feedback is not None:
            self._feedback.close()
            self._feedback = None


def _heads_info(store: Path, heads: Any, metrics: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Manifest entry for heads that `align_store` returned (it keeps the shipped defaults when
    they beat heads trained on a small store)."""
    if metrics.get("adopted") == "default":
        return {"path": "default", "fingerprint": heads.fingerprint, "source": "shipped defaults", "metrics": metrics}
    return {
        "path": str(Path(path).relative_to(store)),
        "fingerprint": heads.fingerprint,
        "source": "trained on this store",
        "metrics": metrics,
    }


def _features(
    products: list[Product],
    encoders: Encoders,
    cache: FeatureCache,
    config: EngineConfig,
    progress: bool,
    build: BuildConfig | None = None,
    store: Path | None = None,
) -> FeatureSet:
    """`build`: a non-local executor (features/executors.py: Ray) fills the cache first; `store`: where
    video thumbnails go (`media/thumbs/`), None writes none. Videos and reviews are encoded here."""
    from .features.modalities import add_videos_and_reviews
    from .features.ocr import check_mode, read_photo_text_for_build

    check_mode(config.index.ocr)  # before the encoders run
    if build is not None and build.executor != "local":
        from .features.executors import encode_products

        fs = encode_products(
            products,
            list(encoders.text.values()),
            list(encoders.image.values()),
            cache,
            config,
            build,
            encoders.cache_dir,
            progress,
        )
    else:
        fs = encode_catalog(
            products,
            list(encoders.text.values()),
            list(encoders.image.values()),
            cache,
            batch_size=config.encoders.batch_size,
            progress=progress,
            max_bytes=config.index.max_image_bytes,
            max_pixels=config.index.max_image_pixels,
        )
    thumbs = store / "media" / "thumbs" if store is not None else None
    fs = add_videos_and_reviews(
        fs, encoders.text, encoders.image, cache, config.index, thumbs, max(config.encoders.batch_size, 64)
    )
    read_photo_text_for_build(
        fs,
        config.index.ocr,
        encoders.text,
        config.index.ocr_encoders,
        cache,
        threads=config.encoders.threads,
        progress=progress,
        max_bytes=config.index.max_image_bytes,
        max_pixels=config.index.max_image_pixels,
    )
    return fs


def _dedupe_across_catalogs(products: list[Product], reports: list[IngestReport]) -> list[Product]:
    """One id in two catalogs of one `index`: the later catalog wins, reported like a duplicate row
    inside one catalog (two rows with one id would otherwise both reach the product table)."""
    if len(reports) < 2:
        return products
    owner: dict[str, int] = {}
    pos = 0
    for ri, rep in enumerate(reports):
        for p in products[pos : pos + rep.products]:
            if p.id in owner:
                rep.duplicates.append(
                    IngestIssue(
                        rep.file, None, "id", f"duplicate id, replaces the one in {reports[owner[p.id]].file}", p.id
                    )
                )
            owner[p.id] = ri
        pos += rep.products
    last = {p.id: p for p in products}
    return [p for i, p in enumerate(products) if last[p.id] is p] if len(last) < len(products) else products


def _merge_with_store(store: Path, products: list[Product], build: BuildConfig) -> tuple[list[Product], dict]:
    """Upsert: new/changed products replace stored ones; stored ones absent from the catalog stay
    unless `delete_missing`. Returns the merged list and counts of what changed."""
    gen = None if build.rebuild or not store.is_dir() else current_generation(store)
    if gen is None:
        return products, {"added": len(products), "updated": 0, "unchanged": 0, "deleted": 0}
    old = ProductTable(gen / "products.sqlite")
    try:
        old_products = old.all_products()
        old_hash = old.hashes()  # stored at build time; no need to re-hash
    finally:
        old.close()
    new_by_id = {p.id: p for p in products}
    added = sum(1 for i in new_by_id if i not in old_hash)
    updated = sum(1 for i, p in new_by_id.items() if i in old_hash and old_hash[i] != p.content_hash())
    unchanged = len(new_by_id) - added - updated
    missing = sum(1 for p in old_products if p.id not in new_by_id)
    merged = [new_by_id.get(p.id, p) for p in old_products if p.id in new_by_id or not build.delete_missing]
    merged += [p for p in products if p.id not in old_hash]
    return merged, {
        "added": added,
        "updated": updated,
        "unchanged": unchanged,
        "deleted": missing if build.delete_missing else 0,
        "kept_from_store": 0 if build.delete_missing else missing,
    }


def _heads_for_build(
    store: Path, fs: FeatureSet, encoders: Encoders, cache: FeatureCache, config: EngineConfig, build: BuildConfig
) -> tuple[Any | None, dict[str, Any] | None]:
    """Heads trained on this store if compatible, else train them (enough pairs), else the shipped defaults."""
    from .align.heads import Heads, HeadsError, default_heads_path

    fps = encoders.fingerprints()
    gen = None if build.rebuild else (current_generation(store) if store.is_dir() else None)
    if gen is not None:
        info = Manifest.load(gen).heads
        if info and info.get("source") == "trained on this store":
            try:
                heads = Heads.load(store / info["path"])
                if not heads.check_compatible(fps):
                    return heads, info
            except HeadsError:
                pass
    if build.auto_align:
        from .align.run import align_store, count_pairs

        pairs = count_pairs(fs)
        if pairs < build.auto_align_min_pairs:
            log.info(
                "%d image-title pairs (< %d): using the shipped text-image heads; "
                "`shoplens align --store %s` trains heads on this catalog",
                pairs,
                build.auto_align_min_pairs,
                store,
            )
        else:
            t0 = time.perf_counter()
            heads, metrics, path = align_store(
                fs,
                cache,
                {**encoders.text, **encoders.image},
                None,
                store / "heads",
                # no field map: these products have no manifest yet, so align infers one from them
                # with the function the builder uses for the manifest (preprocess.field_map)
                progress=build.progress,
            )
            fs.timings_s["align"] = time.perf_counter() - t0
            return heads, _heads_info(store, heads, metrics, path)
    path = default_heads_path()
    try:
        heads = Heads.load(path)
    except (HeadsError, FileNotFoundError) as e:
        log.warning("no alignment heads available (%s); text->image search is off", e)
        return None, None
    stale = heads.check_compatible(fps)
    if stale:
        log.warning("default heads were trained on other versions of %s; text->image search is off", stale)
        return None, None
    unmade = [n for n in heads.image_inputs if n not in encoders.image]
    if unmade:
        log.warning(
            "the shipped text-image heads read image encoder(s) %s, which this store does not run; "
            "text->photo search is off until `shoplens align --store %s` trains heads on its own encoders",
            ", ".join(unmade),
            store,
        )
    return heads, {
        "path": "default",
        "fingerprint": heads.fingerprint,
        "source": "shipped defaults",
        "metrics": getattr(heads, "metrics", None),
    }
