"""Dynamic int8 quantisation of the ONNX image encoders (`[encoders] int8 = true`) against float32,
in one run: model size and memory, encoding speed, photo-query latency, and quality.

* Two stores over the same N shared fashion products (photos, titles, attributes): one built with
  the float exports, one with their int8 copies (onnxruntime.quantization.quantize_dynamic, QUInt8
  weights); each then gets heads trained on its own features with the same recipe (the shipped
  heads were trained on float features, so an int8 store may not use them).
* Quality: NDCG@10 of attribute text queries (EN and ZH; graded 2/1/0 as in bench_quality) and
  rank-1 of augmented photo queries (bench_quality's full augmentation chain), both through
  `Engine.search`.
* Memory: .onnx file size; resident memory a session adds (session + one forward of a batch, in a
  fresh process per model so nothing else is counted).
* Speed: images/s of the raw ORT forward on the same preprocessed photos (batch 32), float and
  int8 interleaved; photo-query latency p50 end to end (`Engine.search(image=...)`), interleaved.
* Feature agreement: cosine between a photo's float and int8 feature vectors.

Rerun:
    .venv/bin/python benchmarks/bench_int8_encoders.py --products 600 --queries 80 --image-queries 100
Writes benchmarks/out/bench_int8_encoders.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
from bench_quality import annotate, augment, image_path, image_quality, make_queries, text_quality  # noqa: E402

RSS_PROBE = """
import json, sys, numpy as np, onnxruntime as ort
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
before = rss()
so = ort.SessionOptions(); so.intra_op_num_threads = int(sys.argv[2])
s = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])
s.run(None, {s.get_inputs()[0].name: np.zeros((32, 3, 224, 224), np.float32)})
print(json.dumps({'rss_added': rss() - before}))
"""


def session_rss(path: Path, threads: int) -> int:
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(path), str(threads)], capture_output=True, text=True, check=True
    )
    return int(json.loads(out.stdout.strip().splitlines()[-1])["rss_added"])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=600)
    ap.add_argument("--queries", type=int, default=80, help="attribute text queries (each also in Chinese)")
    ap.add_argument("--image-queries", type=int, default=100, help="augmented photo queries")
    ap.add_argument("--speed-images", type=int, default=64)
    ap.add_argument("--latency-queries", type=int, default=40, help="photo queries timed end to end per store")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=40, help="heads training epochs (same for both stores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rebuild", action="store_true")
    a = ap.parse_args(argv)

    from shoplens.align import AlignConfig

    C.ensure_onnx()
    cat, rows = C.fashion_catalog(a.products, a.seed)
    base = C.engine_config()
    configs = {"float32": base, "int8": replace(base, encoders=replace(base.encoders, int8=True))}
    engines: dict[str, Any] = {}
    info: dict[str, Any] = {}
    for name, cfg in configs.items():
        store = C.STORES / f"int8enc_{name}_{len(rows)}_s{a.seed}"
        eng, build_s, binfo = C.open_or_build(cat, store, cfg, rebuild=a.rebuild, align=False, progress=False)
        src = (eng.manifest.heads or {}).get("source")
        if src != "trained on this store":
            t0 = time.perf_counter()
            eng.align(AlignConfig(ensemble=1, epochs=a.epochs, min_pairs=50), progress=False, compare_defaults=False)
            binfo["align_s"] = time.perf_counter() - t0
        engines[name] = eng
        info[name] = {
            "store": str(store),
            "build_s": build_s,
            **binfo,
            "heads": (eng.manifest.heads or {}).get("source"),
            "encoders": {n: e.get("fingerprint") for n, e in eng.manifest.encoders.items()},
        }
    fl, q8 = engines["float32"], engines["int8"]
    onnx_names = [n for n, e in fl.encoders.image.items() if hasattr(e, "use_int8")]

    # --- model size, memory, raw speed, feature agreement --------------------------------------
    rng = np.random.default_rng(a.seed)
    with_img = [r for r in rows if r.get("image") and image_path(r).is_file()]
    speed_rows = [with_img[i] for i in rng.permutation(len(with_img))[: a.speed_images]]
    imgs = [Image.open(image_path(r)).convert("RGB") for r in speed_rows]
    models: dict[str, Any] = {}
    for n in onnx_names:
        ef, e8 = fl.encoders.image[n], q8.encoders.image[n]
        pf, p8 = Path(ef.ensure_onnx()), Path(e8.ensure_onnx())
        batch = np.stack([ef.preprocess(im) for im in imgs])
        ef.encode_arrays(batch[:2])
        e8.encode_arrays(batch[:2])
        times: dict[str, list[float]] = {"float32": [], "int8": []}
        for r in range(a.rounds):
            for label, enc in (("float32", ef), ("int8", e8)) if r % 2 == 0 else (("int8", e8), ("float32", ef)):
                t0 = time.perf_counter()
                for s in range(0, len(batch), 32):
                    enc.encode_arrays(batch[s : s + 32])
                times[label].append(len(batch) / (time.perf_counter() - t0))
        vf, v8 = ef.encode_arrays(batch), e8.encode_arrays(batch)
        cos = (vf * v8).sum(axis=1)
        models[n] = {
            "onnx_mb": {"float32": pf.stat().st_size / 1e6, "int8": p8.stat().st_size / 1e6},
            "session_rss_mb": {
                "float32": session_rss(pf, ef.threads) / 1e6,
                "int8": session_rss(p8, e8.threads) / 1e6,
            },
            "images_per_s": {k: float(np.median(v)) for k, v in times.items()},
            "cosine_float_vs_int8": {"mean": float(cos.mean()), "min": float(cos.min())},
        }

    # --- photo-query latency through Engine.search -------------------------------------------
    lat: dict[str, list[float]] = {"float32": [], "int8": []}
    lat_rows = with_img[: a.latency_queries]
    qbytes = [augment(Image.open(image_path(r)), ("crop", "jpeg"), rng) for r in lat_rows]
    for e in (fl, q8):
        e.search(image=qbytes[0], k=10)
    for j, b in enumerate(qbytes):
        for label in ("float32", "int8") if j % 2 == 0 else ("int8", "float32"):
            t0 = time.perf_counter()
            engines[label].search(image=b, k=10)
            lat[label].append((time.perf_counter() - t0) * 1000)

    # --- quality ----------------------------------------------------------------------------
    arows = annotate(rows)
    queries = make_queries(arows, a.queries, a.seed)
    quality: dict[str, Any] = {}
    for label, e in engines.items():
        t = text_quality(e, arows, queries, components=False, progress=False)
        im = image_quality(e, arows, a.image_queries, a.seed, kinds=("all",), progress=False)
        quality[label] = {
            "ndcg10_en": t["hybrid"],
            "ndcg10_zh": t.get("hybrid_zh"),
            "bm25_titles": t["bm25_titles"],
            "photo_rank1": im["per_augmentation"]["all"]["rank1"],
            "photo_rank1_or_identical": im["per_augmentation"]["all"]["rank1_or_identical_photo"],
        }

    f, q = quality["float32"], quality["int8"]
    print(f"\n### int8 vs float32 ONNX image encoders ({len(rows)} products, heads trained per store)\n")
    print(
        C.md_table(
            ["", "float32", "int8", "int8 / float32"],
            [
                ["NDCG@10 EN attribute queries", f["ndcg10_en"], q["ndcg10_en"], q["ndcg10_en"] / f["ndcg10_en"]],
                ["NDCG@10 ZH", f["ndcg10_zh"], q["ndcg10_zh"], q["ndcg10_zh"] / f["ndcg10_zh"]],
                ["photo rank-1 (augmented)", f["photo_rank1"], q["photo_rank1"], q["photo_rank1"] / f["photo_rank1"]],
                [
                    "photo query p50 ms (Engine.search)",
                    C.pct(lat["float32"], 50),
                    C.pct(lat["int8"], 50),
                    C.pct(lat["int8"], 50) / C.pct(lat["float32"], 50),
                ],
            ],
        )
    )
    print()
    mrows = []
    for n, m in models.items():
        for key, label in (("onnx_mb", ".onnx MB"), ("session_rss_mb", "session RSS MB"), ("images_per_s", "images/s")):
            mrows.append([n, label, m[key]["float32"], m[key]["int8"], m[key]["int8"] / m[key]["float32"]])
        mrows.append([n, "cosine float vs int8 (mean / min)", "", f"{m['cosine_float_vs_int8']['mean']:.4f}", ""])
    print(C.md_table(["encoder", "measure", "float32", "int8", "int8 / float32"], mrows))
    within = q["ndcg10_en"] >= 0.99 * f["ndcg10_en"]
    faster = all(m["images_per_s"]["int8"] > m["images_per_s"]["float32"] for m in models.values())
    print(
        f"\nint8 within 1% NDCG@10 (EN): {'yes' if within else 'no'}; faster: {'yes' if faster else 'no'} "
        f"-> default {'on' if within and faster else 'off'}"
    )
    result = {
        "products": len(rows),
        "stores": info,
        "models": models,
        "photo_query_ms": {k: {"p50": C.pct(v, 50), "p99": C.pct(v, 99)} for k, v in lat.items()},
        "quality": quality,
        "queries": len(queries),
        "image_queries": a.image_queries,
        "int8_within_1pct": within,
        "int8_faster": faster,
    }
    path = C.write_json("bench_int8_encoders", result)
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    C.show_logs()
    main()
