"""The Ray executor: a build's encoding on Ray Data actors that hold the models.

The driver works out which (encoder, content key) pairs the feature cache lacks and sends only the
products that need them, in blocks, through `Dataset.map_batches` to a pool of actors. Each actor
loads the encoders once and runs the very function the local executor runs (`encode_catalog`) into
a scratch in-memory cache, whose rows stream back and are committed to the store's feature cache
block by block. The local pass that follows then finds every vector cached and assembles the
`FeatureSet` exactly as a local build does: one cache, one assembly, one store builder.

Failures: an actor that dies mid-block is restarted by Ray and the block re-run on it
(`max_restarts`/`max_task_retries`, Ray Data's defaults for actor pools); a block that raises fails
the run, and the driver re-runs what is still missing (committed blocks are never redone) up to
`RETRIES` times. Nothing finished is lost: it is in the feature cache before the next block ends.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import BuildConfig
from ..encoders import registry
from ..encoders.base import Encoder
from ..errors import ShoplensError
from ..records import Product
from .cache import FeatureCache, file_key, text_key
from .extract import _bar, encode_catalog
from .ray_logs import quiet_ray_data, ray_init_kwargs

log = logging.getLogger(__name__)

# Fault hook for tests (like the store's SHOPLENS_FAULT_AT): "die:<block>:<marker file>" makes the
# actor that first gets block <block> exit as a crash would; "raise:<block>:<marker file>" makes it
# raise. The marker file records that the fault fired, so only the first attempt fails.
FAULT_ENV = "SHOPLENS_RAY_FAULT"
RETRIES = 3


class RayExecutorError(ShoplensError):
    """Ray could not be reached, or the encoding kept failing after its retries."""


@dataclass(frozen=True)
class EncoderSpec:
    """What an actor needs to create the same encoders as the driver (names, threads, ONNX cache)."""

    text: tuple[str, ...]
    image: tuple[str, ...]
    threads: int
    batch_size: int
    cache_dir: str
    max_bytes: int
    max_pixels: int


@dataclass
class RayRunStats:
    products_sent: int = 0
    blocks: int = 0
    vectors: int = 0
    actors: int = 0
    attempts: int = 0
    seconds: float = 0.0


class EncodeActor:
    """One Ray actor: the encoders, loaded once, encoding block after block."""

    def __init__(self, spec: EncoderSpec, fault: str | None = None):
        def create(n: str) -> Encoder:
            return registry.create(n, threads=spec.threads, batch_size=spec.batch_size, cache_dir=Path(spec.cache_dir))

        self.spec = spec
        self.text = [create(n) for n in spec.text]
        self.image = [create(n) for n in spec.image]
        self.fault = fault

    def _maybe_fail(self, blocks: np.ndarray) -> None:
        if not self.fault:
            return
        kind, block, marker = self.fault.split(":", 2)
        if int(block) not in {int(b) for b in blocks} or os.path.exists(marker):
            return
        Path(marker).write_text(f"{kind} pid={os.getpid()} block={block}\n", encoding="utf-8")
        if kind == "die":
            os.kill(os.getpid(), signal.SIGKILL)  # as an OOM kill would: no clean-up, the actor process is gone
        raise RuntimeError(f"{FAULT_ENV}: injected failure in block {block}")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        self._maybe_fail(batch["block"])
        products = [
            Product(id=str(i), title=str(t) or None, images=tuple(str(x) for x in imgs))
            for i, t, imgs in zip(batch["id"], batch["text"], batch["images"])
        ]
        scratch = FeatureCache(":memory:")
        try:
            encode_catalog(
                products,
                self.text,
                self.image,
                scratch,
                batch_size=self.spec.batch_size,
                progress=False,
                max_bytes=self.spec.max_bytes,
                max_pixels=self.spec.max_pixels,
            )
            rows = scratch.rows()
        finally:
            scratch.close()
        # "products" carries the block's product count on its first row (for the driver's progress bar)
        counts = [len(products)] + [0] * (len(rows) - 1) if rows else []
        return {
            "fp": [r[0] for r in rows],
            "key": [r[1] for r in rows],
            "vec": [r[2] for r in rows],
            "products": counts,
        }


def _work(
    products: Sequence[Product], text_encoders: Sequence[Encoder], image_encoders: Sequence[Encoder], cache
) -> list[dict[str, Any]]:
    """One row per product that lacks a cached vector: its text if a text vector is missing, the
    photos some image encoder has not seen. Unreadable photos are left to the local pass to report."""
    texts = [p.text() for p in products]
    tkeys = [text_key(t, "passage") for t in texts]
    have_text = [set(cache.get_many(e.fingerprint(), tkeys)) for e in text_encoders]
    paths: list[list[tuple[str, str]]] = []
    for p in products:
        ok = []
        for path in p.images:
            try:
                ok.append((path, file_key(path)))
            except OSError:
                pass
        paths.append(ok)
    all_keys = [k for ps in paths for _, k in ps]
    have_img = [set(cache.get_many(e.fingerprint(), all_keys)) for e in image_encoders]
    rows = []
    for p, t, tk, ps in zip(products, texts, tkeys, paths):
        need_text = any(tk not in h for h in have_text)
        imgs = [path for path, k in ps if any(k not in h for h in have_img)]
        if need_text or imgs:
            rows.append({"id": p.id, "text": t if need_text else "", "images": imgs})
    return rows


def _connect(build: BuildConfig, cpus_wanted: int) -> bool:
    """Join the configured cluster, or start a private local Ray. True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    kw = ray_init_kwargs()
    try:
        if build.ray_address:
            ray.init(address=build.ray_address, **kw)
        else:
            ray.init(
                address="local",  # a new private instance, never a head that `ray start` left on this machine
                num_cpus=max(cpus_wanted, os.cpu_count() or 1),
                object_store_memory=build.ray_object_store_mb << 20,
                include_dashboard=False,
                **kw,
            )
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {build.ray_address}" if build.ray_address else "a local Ray"
        raise RayExecutorError(
            f"--executor ray: cannot start or reach {where} ({e}); `scripts/ray.sh start` runs a local head "
            "(clients of a head with token authentication need RAY_AUTH_MODE=token), "
            "or drop --ray-address to let the build start its own"
        ) from None
    return True


def fill_cache(
    products: Sequence[Product],
    text_encoders: Sequence[Encoder],
    image_encoders: Sequence[Encoder],
    cache: FeatureCache,
    spec: EncoderSpec,
    build: BuildConfig,
    progress: bool,
) -> RayRunStats:
    """Encode on Ray whatever `cache` lacks for `products`; afterwards a local `encode_catalog` of
    the same products computes nothing."""
    import ray
    import ray.data

    stats = RayRunStats()
    t0 = time.perf_counter()
    wanted = {e.fingerprint(): e.name for e in [*text_encoders, *image_encoders]}
    rows = _work(products, text_encoders, image_encoders, cache)
    if not rows:
        log.info("ray executor: every vector is already in the feature cache")
        return stats
    # ONNX exports happen once here, not in every actor at once.
    for enc in image_encoders:
        ensure = getattr(enc, "ensure_onnx", None)
        if ensure is not None:
            ensure()
    started = _connect(build, spec.threads)
    try:
        quiet_ray_data()  # our bar below counts products; Ray's lines would interleave with it
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # an actor asking for more CPUs than a node has would never be scheduled
        actor_cpus = max(1, min(spec.threads, cpus))
        stats.actors = build.ray_actors or max(1, cpus // actor_cpus)
        fault = os.environ.get(FAULT_ENV) or None
        stats.products_sent = len(rows)
        log.info(
            "ray executor: %d products to encode in blocks of %d on %d actor(s) (%d CPUs in the cluster)",
            len(rows),
            build.ray_block_size,
            stats.actors,
            cpus,
        )
        with _bar(len(rows), "encode on ray", progress) as bar:
            for attempt in range(1, RETRIES + 2):
                stats.attempts = attempt
                for i, r in enumerate(rows):
                    r["block"] = i // build.ray_block_size
                stats.blocks += rows[-1]["block"] + 1
                bar.reset(total=len(rows))
                try:
                    _run(rows, spec, build, stats, cache, wanted, fault, bar, actor_cpus)
                    break
                except RayExecutorError:
                    raise
                except Exception as e:  # a block raised: re-run only what is still missing
                    rows = _work(products, text_encoders, image_encoders, cache)
                    if not rows:  # the failure came after the last block was committed
                        break
                    if attempt > RETRIES:
                        raise RayExecutorError(
                            f"--executor ray: encoding failed {attempt} times ({type(e).__name__}: {e}); "
                            f"{len(rows)} products are still not encoded (the rest is kept in the feature cache; "
                            "re-run to resume)"
                        ) from e
                    log.warning(
                        "ray executor: attempt %d failed (%s: %s); re-running the %d products still missing",
                        attempt,
                        type(e).__name__,
                        str(e).splitlines()[0] if str(e) else "",
                        len(rows),
                    )
    finally:
        if started:
            ray.shutdown()
    stats.seconds = time.perf_counter() - t0
    log.info(
        "ray executor: %d vectors for %d products in %.1f s (%d attempt(s))",
        stats.vectors,
        stats.products_sent,
        stats.seconds,
        stats.attempts,
    )
    return stats


def _run(
    rows: list[dict[str, Any]],
    spec: EncoderSpec,
    build: BuildConfig,
    stats: RayRunStats,
    cache: FeatureCache,
    wanted: dict[str, str],
    fault: str | None,
    bar: Any,
    actor_cpus: int,
) -> None:
    import ray.data

    n_blocks = rows[-1]["block"] + 1
    ds = ray.data.from_items(rows, override_num_blocks=n_blocks).map_batches(
        EncodeActor,
        batch_size=build.ray_block_size,
        fn_constructor_kwargs={"spec": spec, "fault": fault},
        compute=ray.data.ActorPoolStrategy(size=stats.actors),
        num_cpus=actor_cpus,
        # Ray Data creates pool actors with max_restarts=-1, max_task_retries=-1: a dead actor is
        # restarted and its block re-run on it (tests/integration/test_ray_executor.py kills one)
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        fps, keys, vecs = batch["fp"], batch["key"], batch["vec"]
        unknown = {str(f) for f in fps} - wanted.keys()
        if unknown:
            raise RayExecutorError(
                "--executor ray: the Ray workers encode with other model files than this process "
                f"(fingerprints {sorted(unknown)} vs {sorted(wanted)}); install the same shoplens and model "
                "packages on every node"
            )
        cache.put_rows(zip(map(str, fps), map(str, keys), map(bytes, vecs)))
        stats.vectors += len(fps)
        bar.update(int(np.sum(batch["products"])))
