"""The facade: `Engine.build / open / search / search_batch / align`.

The CLI and (later) the HTTP server call only this; it wires the pipeline
stages (catalog -> features -> store -> search) with explicit config.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .catalog import load_catalog
from .config import BuildConfig, EngineConfig
from .encoders import registry
from .encoders.base import Encoder
from .features.cache import FeatureCache
from .features.extract import FeatureSet, encode_catalog
from .feedback.log import EventReport, FeedbackLog
from .records import IngestReport, Product, SearchResult
from .search.query import Query
from .search.searcher import QueryEncoder, Searcher
from .search.tuning import QualityConfig
from .store.builder import write_generation
from .store.layout import StoreError, current_generation, writer_lock
from .store.manifest import Manifest
from .store.products import ProductTable
from .store.reader import StoreReader


def _say(msg: str, show: bool) -> None:
    if show:
        print(msg, file=sys.stderr)


class Encoders:
    """The configured encoders, created lazily once per engine (ONNX export cached under the store)."""

    def __init__(self, config: EngineConfig, store: Path):
        ec = config.encoders
        cache_dir = Path(ec.cache_dir) if ec.cache_dir else store / "cache" / "onnx"
        kw = dict(threads=ec.threads, batch_size=ec.batch_size, cache_dir=cache_dir)
        self.text: dict[str, Encoder] = {n: registry.create(n, **kw) for n in ec.text}
        self.image: dict[str, Encoder] = {n: registry.create(n, **kw) for n in ec.image}

    @property
    def all(self) -> list[Encoder]:
        return [*self.text.values(), *self.image.values()]

    def fingerprints(self) -> dict[str, str]:
        return {e.name: e.fingerprint() for e in self.all}


class Engine:
    def __init__(self, store_dir: str | Path, config: EngineConfig | None = None, encoders: Encoders | None = None):
        """Prefer `Engine.open`; this reads the live generation of an existing store.
        `encoders` lets a build hand over its already-loaded models."""
        self.store = Path(store_dir)
        self.config = config or EngineConfig()
        self.reader = StoreReader(self.store, self.config.index)
        self.encoders = encoders or Encoders(self.config, self.store)
        self.heads = self._load_heads(self.reader.manifest.heads)
        qenc = QueryEncoder(self.encoders.text, self.encoders.image, self.config.index)
        quality = getattr(self.config, "quality", None) or QualityConfig()
        self.searcher = Searcher(self.reader, qenc, self.heads, self.config.search, quality)
        self.report: IngestReport | None = None
        self._feedback: FeedbackLog | None = None
        self._warm = threading.Thread(target=self.searcher.warm_up, name="shoplens-warm-up", daemon=True)
        if quality.warm_up:  # off the hot path: a server's first shopper should not load the segmenter
            self._warm.start()

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
    def open(cls, store_dir: str | Path, config: EngineConfig | None = None) -> Engine:
        return cls(store_dir, config)

    @classmethod
    def build(
        cls,
        catalog: str | Path | Sequence[str | Path],
        store_dir: str | Path,
        config: EngineConfig | None = None,
        build: BuildConfig | None = None,
    ) -> Engine:
        """Index a catalog into a store (create, or upsert into an existing one) and open it."""
        config, build = config or EngineConfig(), build or BuildConfig()
        store = Path(store_dir)
        catalogs = [catalog] if isinstance(catalog, (str, Path)) else list(catalog)
        with writer_lock(store):
            products, reports = [], []
            for c in catalogs:
                ps, rep = load_catalog(c)
                products += ps
                reports.append(rep)
                _say(rep.summary(), build.progress)
            if not products:
                raise StoreError("the catalog has no valid products; nothing was changed in the store")
            merged, changes = _merge_with_store(store, products, build)
            _say(f"store {store}: {changes}", build.progress)
            encoders = Encoders(config, store)
            cache = FeatureCache(store / "cache" / "features.sqlite")
            try:
                fs = _features(merged, encoders, cache, config, build.progress)
                heads, heads_info = _heads_for_build(store, fs, encoders, cache, config, build)
                ingest = {
                    "catalog_rows": sum(r.rows_read for r in reports),
                    "rows_skipped": sum(len(r.rows_skipped) for r in reports),
                    "fields_dropped": sum(len(r.field_issues) for r in reports) + len(fs.issues),
                    "duplicates": sum(len(r.duplicates) for r in reports),
                    **changes,
                }
                if fs.issues:
                    _say(
                        f"{len(fs.issues)} images could not be used, e.g.:\n"
                        + "\n".join(f"    - {i}" for i in fs.issues[:3]),
                        build.progress,
                    )
                write_generation(
                    store,
                    fs,
                    encoders.all,
                    heads,
                    heads_info,
                    [str(Path(c).resolve()) for c in catalogs],
                    ingest,
                    config.index,
                )
            finally:
                cache.close()
        engine = cls(store, config, encoders)
        engine.report = reports[0] if len(reports) == 1 else None
        return engine

    def _load_heads(self, info: dict[str, Any] | None):
        if not info:
            return None
        from .align.heads import Heads, HeadsError, default_heads_path

        path = default_heads_path() if info.get("source") == "shipped defaults" else Path(info["path"])
        try:
            heads = Heads.load(path if path.is_absolute() else self.store / path)
        except (HeadsError, FileNotFoundError) as e:
            heads, why = None, f"cannot load them ({e})"
        else:
            why = f"they are now {heads.fingerprint}"
            if heads.fingerprint == info.get("fingerprint"):
                return heads
            if info.get("space_fingerprint") and heads.space_fingerprint == info["space_fingerprint"]:
                return heads  # same shared space, only the attribute classifiers were refit
            if info.get("fingerprint") in (heads.meta.get("same_space_as") or ()):
                return heads  # older heads (e.g. earlier shipped defaults) with these very towers
        # Never mix: the store's aligned vectors were made by other heads (e.g. shoplens was
        # upgraded and ships new defaults). Cross-modal components stay off until re-indexing.
        _say(
            f"{self.store}: aligned vectors were made by heads {info.get('fingerprint')} but {why}; "
            f"text->image and image->text are off until `shoplens index` (or `align`) re-embeds "
            f"the store (cached features make that quick)",
            True,
        )
        return None

    # ---- querying -------------------------------------------------------------------------
    @property
    def manifest(self) -> Manifest:
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
    ) -> SearchResult:
        """`log=True` records the search in the store's feedback log and sets `result.query_id`, which
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
        return self.search_query(q, log=log)

    def search_query(self, q: Query, log: bool = False) -> SearchResult:
        res = self.searcher.search(q)
        if log:
            res.query_id = self.feedback.log_query(
                q.text,
                res.ids,
                user_id=q.user,
                client_id=q.user,
                session_id=q.session,
                attributes={k: v for k, v in res.query.items() if k not in ("text", "image")},
            )
        return res

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
        return [self.searcher.search(Query.from_json(q, k=k, where=f"query {i + 1}")) for i, q in enumerate(queries)]

    def products(self, ids: Sequence[str]) -> dict[str, Product]:
        table: ProductTable = self.reader.products
        docs = {table.doc_of(i): i for i in ids}
        got = table.get([d for d in docs if d is not None])
        return {docs[d]: p for d, p in got.items()}

    # ---- alignment ------------------------------------------------------------------------
    def align(self, config: Any | None = None, progress: bool = True) -> dict[str, Any]:
        """Retrain the alignment heads on this store's pairs and publish a re-embedded generation."""
        from .align.run import align_store

        with writer_lock(self.store):
            products = self.reader.products.all_products()
            cache = FeatureCache(self.store / "cache" / "features.sqlite")
            fs = _features(products, self.encoders, cache, self.config, progress)
            t0 = time.perf_counter()
            heads, metrics, path = align_store(
                fs,
                cache,
                {**self.encoders.text, **self.encoders.image},
                config,
                self.store / "heads",
                progress=progress,
                log=lambda m: _say(m, progress),
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
            )
            cache.close()
        self.__init__(self.store, self.config, self.encoders)  # reopen on the new generation
        return metrics

    def close(self) -> None:
        self.reader.close()
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
    products: list[Product], encoders: Encoders, cache: FeatureCache, config: EngineConfig, progress: bool
) -> FeatureSet:
    return encode_catalog(
        products,
        list(encoders.text.values()),
        list(encoders.image.values()),
        cache,
        batch_size=config.encoders.batch_size,
        progress=progress,
        max_bytes=config.index.max_image_bytes,
        max_pixels=config.index.max_image_pixels,
    )


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
            _say(
                f"{pairs} image-title pairs (< {build.auto_align_min_pairs}): using the shipped text-image "
                f"heads; `shoplens align --store {store}` trains heads on this catalog",
                build.progress,
            )
        else:
            t0 = time.perf_counter()
            heads, metrics, path = align_store(
                fs,
                cache,
                {**encoders.text, **encoders.image},
                None,
                store / "heads",
                progress=build.progress,
                log=lambda m: _say(m, build.progress),
            )
            fs.timings_s["align"] = time.perf_counter() - t0
            return heads, _heads_info(store, heads, metrics, path)
    path = default_heads_path()
    try:
        heads = Heads.load(path)
    except (HeadsError, FileNotFoundError) as e:
        _say(f"no alignment heads available ({e}); text->image search is off", build.progress)
        return None, None
    stale = heads.check_compatible(fps)
    if stale:
        _say(f"default heads were trained on other versions of {stale}; text->image search is off", build.progress)
        return None, None
    return heads, {
        "path": "default",
        "fingerprint": heads.fingerprint,
        "source": "shipped defaults",
        "metrics": getattr(heads, "metrics", None),
    }
