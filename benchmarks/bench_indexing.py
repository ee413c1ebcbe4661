"""Indexing throughput: the full `Engine.build` pipeline vs. the raw encoders on the same inputs.

Each round (pipeline and raw interleaved, order alternating, so machine load hits both alike):
* pipeline: `Engine.build` of N fashion products (titles + photos + attributes) into a fresh
  store with a fresh feature cache; ONNX files are pre-exported into benchmarks/out/onnx and
  passed via EngineConfig(encoders=EncoderConfig(cache_dir=...)), so export time is excluded.
  Auto-alignment (heads training) is off unless --align; its cost is reported separately then.
* raw: the same encoders (same threads / batch size, models loaded and warmed outside the timer)
  on the same unique inputs: e5 and USE `encode(texts)`; the ONNX CNNs `encode_arrays` on
  pre-built arrays (decode + preprocess excluded, and also reported); colour `encode(PIL images)`.

Reports items/s for each, the per-stage breakdown from the build manifest's `timings_s`, and
pipeline overhead = pipeline time / sum(raw encoder times) - 1 (target <= 10%).

Rerun:
    .venv/bin/python benchmarks/bench_indexing.py --products 300 --rounds 3
    .venv/bin/python benchmarks/bench_indexing.py --products 300 --rounds 1 --profile   # + cProfile of one build
    .venv/bin/python benchmarks/bench_indexing.py --products 300 --rounds 1 --align  # heads trained
Writes benchmarks/out/bench_indexing.json (bench_indexing_align.json with --align).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


def _inputs(catalog: Path):
    from shoplens.catalog import load_catalog
    from shoplens.features.cache import file_key

    products, _ = load_catalog(catalog)
    texts = list(dict.fromkeys(p.text() for p in products if p.text()))  # the cache dedupes too
    seen, paths = set(), []
    for p in products:
        for path in p.images:
            k = file_key(path)
            if k not in seen:
                seen.add(k)
                paths.append(path)
    return products, texts, paths


def make_encoders(config) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The engine's encoders, models loaded and warmed (load time returned separately)."""
    from PIL import Image

    from shoplens.encoders import registry

    ec = config.encoders
    kw = dict(threads=ec.threads, batch_size=ec.batch_size, cache_dir=Path(ec.cache_dir))
    t0 = time.perf_counter()
    text = {n: registry.create(n, **kw) for n in ec.text}
    image = {n: registry.create(n, **kw) for n in ec.image}
    for e in text.values():
        e.encode(["warm up"], mode="passage")
    blank = Image.new("RGB", (224, 224), (255, 255, 255))
    for e in image.values():
        e.encode([blank])
    return text, image, time.perf_counter() - t0


def raw_round(
    text_encs,
    image_encs,
    texts: Sequence[str],
    paths: Sequence[str],
    batch_size: int,
    limits: tuple[int, int],
    progress: bool,
) -> dict[str, float]:
    from shoplens.preprocess.image import load_image

    t: dict[str, float] = {}
    cpu0 = time.process_time()
    for name, enc in text_encs.items():
        s = time.perf_counter()
        for i in tqdm(range(0, len(texts), 64), desc=f"raw text [{name}]", leave=False, disable=not progress):
            enc.encode(texts[i : i + 64], mode="passage")
        t[f"text:{name}"] = time.perf_counter() - s
    t["image:decode"] = 0.0
    for name in image_encs:
        t[f"image:{name}"] = 0.0
        if hasattr(image_encs[name], "encode_arrays"):
            t[f"image:{name}:preprocess"] = 0.0
    for i in tqdm(range(0, len(paths), batch_size), desc="raw images", leave=False, disable=not progress):
        s = time.perf_counter()
        imgs = [load_image(p, max_bytes=limits[0], max_pixels=limits[1]) for p in paths[i : i + batch_size]]
        t["image:decode"] += time.perf_counter() - s
        for name, enc in image_encs.items():
            if hasattr(enc, "encode_arrays"):
                s = time.perf_counter()
                arr = np.stack([enc.preprocess(im) for im in imgs])
                t[f"image:{name}:preprocess"] += time.perf_counter() - s
                s = time.perf_counter()
                enc.encode_arrays(arr)
                t[f"image:{name}"] += time.perf_counter() - s
            else:  # colour: numpy on the decoded image
                s = time.perf_counter()
                enc.encode(imgs)
                t[f"image:{name}"] += time.perf_counter() - s
    t["cpu_total"] = time.process_time() - cpu0  # all threads of this process; decode/preprocess included
    return t


def pipeline_round(
    catalog: Path, store: Path, config, align: bool, profile: bool
) -> tuple[float, dict[str, float], dict[str, Any], str | None]:
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    if store.exists():
        shutil.rmtree(store)
    prof = cProfile.Profile() if profile else None
    s, cpu0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    eng = Engine.build(catalog, store, config, BuildConfig(auto_align=align, progress=False))
    if prof:
        prof.disable()
    total = time.perf_counter() - s
    cpu = time.process_time() - cpu0
    m = eng.manifest
    s = time.perf_counter()
    eng.close()
    Engine.open(store, config).close()  # what the build's final open costs (estimate)
    timings = dict(m.timings_s)
    timings["open_after_build(est)"] = time.perf_counter() - s
    text = None
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(35)
        text = buf.getvalue()
    info = {
        "cpu_s": cpu,
        "heads": (m.heads or {}).get("source"),
        "fields": {k: v.index for k, v in m.fields.items()},
        "products": m.products,
    }
    return total, timings, info, text


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved pipeline/raw rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="encoder threads (default: all cores)")
    ap.add_argument("--align", action="store_true", help="include auto-alignment (heads training) in the build")
    ap.add_argument("--profile", action="store_true", help="cProfile the first pipeline build")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    progress = not a.no_progress

    onnx = C.ensure_onnx()
    config = C.engine_config(threads=a.threads)
    cat, _ = C.fashion_catalog(a.products, a.seed)
    products, texts, paths = _inputs(cat)
    n = len(products)
    print(
        f"{n} products ({len(texts)} unique texts, {len(paths)} unique photos); onnx {list(onnx.values())}",
        file=sys.stderr,
    )
    text_encs, image_encs, load_s = make_encoders(config)
    limits = (config.index.max_image_bytes, config.index.max_image_pixels)
    rounds: list[dict[str, Any]] = []
    profile_text = None
    for r in range(a.rounds):
        rec: dict[str, Any] = {"round": r}
        order = ("pipeline", "raw") if r % 2 == 0 else ("raw", "pipeline")
        for what in order:
            print(f"round {r + 1}/{a.rounds}: {what}", file=sys.stderr)
            if what == "raw":
                rec["raw"] = raw_round(
                    text_encs, image_encs, texts, paths, config.encoders.batch_size, limits, progress
                )
            else:
                store = C.STORES / f"indexing_tmp_{n}"
                total, timings, info, prof = pipeline_round(cat, store, config, a.align, a.profile and r == 0)
                rec.update(pipeline_s=total, stages=timings, build=info)
                profile_text = profile_text or prof
                shutil.rmtree(store, ignore_errors=True)
        raw = rec["raw"]
        enc_keys = [k for k in raw if k.count(":") == 1 and k != "image:decode"]
        rec["cpu_ratio"] = rec["build"]["cpu_s"] / raw["cpu_total"] - 1  # CPU-time view, less load-sensitive
        enc_stages = sum(
            v
            for k, v in rec["stages"].items()
            if k.startswith("text:") or (k.startswith("image:") and k not in ("image:decode", "image:hash"))
        )
        rec["in_build_overhead"] = rec["pipeline_s"] / enc_stages - 1  # same time window: load-robust
        rec["raw_encoders_s"] = sum(raw[k] for k in enc_keys)
        rec["raw_incl_decode_s"] = (
            rec["raw_encoders_s"] + raw["image:decode"] + sum(v for k, v in raw.items() if k.endswith(":preprocess"))
        )
        rec["overhead"] = rec["pipeline_s"] / rec["raw_encoders_s"] - 1
        rec["overhead_vs_incl_decode"] = rec["pipeline_s"] / rec["raw_incl_decode_s"] - 1
        rounds.append(rec)

    med = lambda xs: float(np.median(xs))  # noqa: E731
    pipe_s = med([x["pipeline_s"] for x in rounds])
    raw_keys = [k for k in rounds[0]["raw"] if k != "cpu_total"]
    raw_s = {k: med([x["raw"][k] for x in rounds]) for k in raw_keys}
    stage_keys = list(dict.fromkeys(k for x in rounds for k in x["stages"]))
    stages = {k: med([x["stages"].get(k, 0.0) for x in rounds]) for k in stage_keys}
    overhead = med([x["overhead"] for x in rounds])
    overhead_dec = med([x["overhead_vs_incl_decode"] for x in rounds])

    print(
        f"\n### Indexing throughput, {n} products ({len(texts)} texts, {len(paths)} photos), "
        f"{a.rounds} interleaved round(s), medians\n"
    )
    enc_keys = [k for k in raw_keys if k.count(":") == 1 and k != "image:decode"]
    raw_sum = sum(raw_s[k] for k in enc_keys)
    pre_sum = sum(v for k, v in raw_s.items() if k.endswith(":preprocess"))
    tbl = [["pipeline: Engine.build (fresh store + cache)", pipe_s, n / pipe_s, "1.00"]]
    for k in enc_keys:
        items = len(texts) if k.startswith("text:") else len(paths)
        tbl.append(
            [
                f"raw {k}" + (" (encode_arrays)" if f"{k}:preprocess" in raw_s else ""),
                raw_s[k],
                items / raw_s[k],
                f"{raw_s[k] / pipe_s:.2f}",
            ]
        )
    tbl.append(
        [
            "raw image decode (load_image)",
            raw_s["image:decode"],
            len(paths) / raw_s["image:decode"],
            f"{raw_s['image:decode'] / pipe_s:.2f}",
        ]
    )
    for k in raw_keys:
        if k.endswith(":preprocess"):
            tbl.append([f"raw {k}", raw_s[k], len(paths) / raw_s[k], f"{raw_s[k] / pipe_s:.2f}"])
    tbl.append(["**sum of raw encoders**", raw_sum, n / raw_sum, f"{raw_sum / pipe_s:.2f}"])
    tbl.append(
        [
            "sum raw incl. decode + preprocess",
            raw_sum + raw_s["image:decode"] + pre_sum,
            n / (raw_sum + raw_s["image:decode"] + pre_sum),
            f"{(raw_sum + raw_s['image:decode'] + pre_sum) / pipe_s:.2f}",
        ]
    )
    print(C.md_table(["what", "seconds", "items/s", "share of pipeline time"], tbl))
    in_build = med([x["in_build_overhead"] for x in rounds])
    cpu_ratio = med([x["cpu_ratio"] for x in rounds])
    per_round = ", ".join(format(x["overhead"], "+.1%") for x in rounds)
    print(
        f"\n**pipeline overhead = pipeline / sum(raw encoders) - 1 = {overhead:+.1%}** "
        f"(target <= +10%; per round: {per_round}); "
        f"vs raw incl. decode+preprocess: {overhead_dec:+.1%}"
    )
    print(
        f"\nLoad-robust views: build wall time / sum of its own encoder stages (same time window) - 1 = "
        f"{in_build:+.1%}; process CPU time, build vs raw pass (raw incl. decode+preprocess) - 1 = {cpu_ratio:+.1%}"
    )

    # Where the pipeline's time goes: manifest stages next to their raw counterparts.
    print("\n### Pipeline stages (manifest timings_s) vs raw\n")
    srows = []
    accounted = 0.0
    for k in stage_keys:
        v = stages[k]
        rawv = raw_s.get(k)
        note = ""
        if k.startswith("image:") and f"{k}:preprocess" in raw_s:
            rawv = raw_s[k] + raw_s[f"{k}:preprocess"]
            note = "raw = preprocess + encode_arrays"
        if k == "image:decode":
            note = "worker thread, overlaps encoding (not additive)"
        if k != "image:decode" and k != "open_after_build(est)":
            accounted += v
        srows.append(
            [
                k,
                v,
                v / pipe_s,
                rawv if rawv is not None else float("nan"),
                (v / rawv - 1) if rawv else float("nan"),
                note,
            ]
        )
    other = pipe_s - accounted - stages.get("open_after_build(est)", 0.0)
    srows.append(
        [
            "unaccounted (catalog load, merge, encoder init/model load, heads, ...)",
            other,
            other / pipe_s,
            load_s,
            float("nan"),
            "raw = model load + warm-up, outside raw timer",
        ]
    )
    print(C.md_table(["stage", "pipeline s", "share", "raw s", "stage overhead", "note"], srows))

    result = {
        "products": n,
        "unique_texts": len(texts),
        "unique_photos": len(paths),
        "rounds": rounds,
        "median": {
            "pipeline_s": pipe_s,
            "raw_s": raw_s,
            "stages_s": stages,
            "raw_encoders_s": raw_sum,
            "overhead": overhead,
            "overhead_vs_incl_decode": overhead_dec,
            "in_build_overhead": in_build,
            "cpu_overhead_vs_raw_incl_decode": cpu_ratio,
            "items_per_s": {"pipeline": n / pipe_s, "raw_encoders": n / raw_sum},
        },
        "model_load_s": load_s,
        "align": a.align,
        "threads": config.encoders.threads,
        "batch_size": config.encoders.batch_size,
        "target_overhead": 0.10,
        "pass": overhead <= 0.10,
    }
    if profile_text:
        result["profile_top"] = profile_text
        print(
            "\n<details><summary>cProfile (cumulative, first build)</summary>\n\n```\n"
            + "\n".join(profile_text.splitlines()[:60])
            + "\n```\n</details>"
        )
    path = C.write_json("bench_indexing" + ("_align" if a.align else ""), result)
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    C.show_logs()
    main()
