"""Train the default alignment heads shipped in shoplens/align/default_heads/.

    .venv/bin/python benchmarks/align_default_heads.py

Same code path as `shoplens align` (shoplens.align.run.align_store with the
default AlignConfig), on all 7,710 products of ../shared/data/fashion (how the shipped
heads were trained). `--leave-out-heldout` trains on the products OUTSIDE the held-out 20%
that the photo-only benchmarks search (benchmarks/bench_quality2_heads.heldout_rows, seed 0),
so that those benchmarks would be honest with the shipped heads too.
Encoder features come from the benchmark feature cache (benchmarks/out/align_cache),
so a rerun only retrains. Writes heads.npz / heads.json / metrics.json and
TRAINING.md (command, data, seed, metrics) next to them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, REPO, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from bench_quality2_heads import heldout_rows  # noqa: E402

from shoplens.align.config import AlignConfig  # noqa: E402
from shoplens.align.heads import Heads, HeadsError, default_heads_path  # noqa: E402
from shoplens.align.run import align_store, format_metrics  # noqa: E402

COMMAND = ".venv/bin/python benchmarks/align_default_heads.py"


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--md-only",
        action="store_true",
        help="do not retrain: rewrite TRAINING.md from the shipped heads, metrics.json and "
        "benchmarks/out/align_quality.json (e.g. after the held-out benchmark finished)",
    )
    ap.add_argument(
        "--leave-out-heldout", action="store_true", help="train without the held-out 20% of the photo-only benchmarks"
    )
    ap.add_argument("--workers", type=int, default=1, help="processes training the heads side by side (same heads)")
    ap.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        help="do not train: ship the heads in this directory, put together from members trained on every "
        "product (benchmarks/align_members.py combine --rows all); previous heads kept as after training",
    )
    a = ap.parse_args(argv)
    cfg = AlignConfig().with_(workers=a.workers)
    if a.md_only:
        dst = default_heads_path()
        loaded = Heads.load(dst)
        metrics = json.loads((dst / "metrics.json").read_text())
        cfg = AlignConfig.from_json(loaded.meta["recipe"])
        write_md(
            cfg,
            loaded,
            metrics,
            loaded.meta.get("base_commit", ""),
            loaded.meta.get("trained_on", ""),
            loaded.meta.get("created", "")[:10],
        )
        return 0
    encs = make_encoders()
    cache = feature_cache()
    products = load_fashion()
    held = heldout_rows(products) if a.leave_out_heldout else []
    keep = np.setdiff1d(np.arange(len(products)), held)
    products = [products[i] for i in keep]
    fs = featureset(products, encs, cache)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    provenance = {
        "source": "shipped defaults",
        "command": COMMAND,
        "base_commit": commit,
        "trained_on": f"{'all ' if not len(held) else ''}{len(products)} products of "
        "../shared/data/fashion/catalog.csv (images + productDisplayName; attributes gender/baseColour for captions)"
        + (
            f"; the {len(held)} products of the held-out 20% (benchmarks/bench_quality2_heads.heldout_rows, "
            "seed 0) left out, so the photo-only benchmarks search products these heads never saw"
            if len(held)
            else ""
        ),
        "trained_products": len(products),
        "held_out_products": len(held),
        "field_map": FIELD_MAP,
    }
    try:  # the heads being replaced: stores they embedded stay valid if the space is unchanged
        previous = Heads.load(default_heads_path())
    except (HeadsError, OSError):
        previous = None
    with tempfile.TemporaryDirectory() as tmp:
        # compare_defaults=False: these ARE the defaults (the old ones saw every product, so
        # scoring them on this validation slice would not be a fair comparison anyway)
        if a.from_dir:
            heads, path = Heads.load(a.from_dir), Path(tmp) / "heads"
            cfg = AlignConfig.from_json(heads.meta["recipe"])
            metrics = {"combined_from": heads.meta.get("combined_from"), "validation": {}}
            heads.meta.update({**provenance, "command": f"{COMMAND} --from {a.from_dir}"})
            heads.meta["created"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            heads.save(path)
            (path / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        else:
            heads, metrics, path = align_store(
                fs,
                cache,
                encs,
                cfg,
                Path(tmp) / "heads",
                field_map=FIELD_MAP,
                provenance=provenance,
                compare_defaults=False,
            )
        dst = default_heads_path()
        dst.mkdir(parents=True, exist_ok=True)
        if previous is not None and previous.space_fingerprint != heads.space_fingerprint:
            # another space: stores built with the heads being replaced keep them (previous_default_heads)
            keep = dst / "previous" / previous.fingerprint
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("heads.npz", "heads.json"):
                shutil.copyfile(dst / name, keep / name)
            print(f"previous shipped heads kept in {keep}")
        for name in ("heads.npz", "heads.json", "metrics.json"):
            shutil.copyfile(path / name, dst / name)
    loaded = Heads.load(dst)
    assert loaded.fingerprint == heads.fingerprint
    if previous is not None and previous.space_fingerprint == loaded.space_fingerprint:
        loaded.meta["same_space_as"] = sorted(
            (set(previous.meta.get("same_space_as", [])) | {previous.fingerprint}) - {loaded.fingerprint}
        )
        loaded.save(dst)
    write_md(cfg, loaded, metrics, commit, provenance["trained_on"], time.strftime("%Y-%m-%d"))
    return 0


def write_md(cfg: AlignConfig, loaded: Heads, metrics: dict, commit: str, trained_on: str, date: str) -> None:
    dst = default_heads_path()
    size = sum(p.stat().st_size for p in dst.iterdir() if p.name != "TRAINING.md")
    val = metrics["validation"]
    bench = []
    qpath = REPO / "benchmarks" / "out" / "align_quality.json"
    if qpath.is_file():
        q = json.loads(qpath.read_text())
        ref = q.get("reference_bm25", {}).get("en")
        want = {
            json.dumps(
                cfg.with_(refit_full=False).to_json(), sort_keys=True
            ): "trained on 90% of the non-held-out products (10% internal validation slice)",
            json.dumps(
                cfg.with_(refit_full=False, val_fraction=0.0).to_json(), sort_keys=True
            ): "trained on all non-held-out products (as these heads: refit on every pair)",
        }
        found = {}  # label -> row (several ablation names can hold the shipped recipe)
        for r in q.get("results", {}).values():
            key = json.dumps(r.get("recipe"), sort_keys=True)
            if r.get("recipe") and key in want:
                found.setdefault(want[key], r)
        rows = sorted(found.items())
        if rows:
            bench = [
                f"Held-out benchmark (`.venv/bin/python benchmarks/align_quality.py`, seed {q.get('seed')}): heads "
                f"trained with this recipe WITHOUT the {q.get('heldout_products')} held-out products, which form "
                f"an image-only catalog; {q.get('queries')} attribute queries (EN and their ZH wording); reference: "
                f"BM25 over the held-out titles, NDCG@10 {ref:.4f} with the EN queries.",
                "",
                "Cosine = the shared space alone; search = as `shoplens search` ranks photo-only products "
                "(cosine top-200 re-scored by the attribute classifiers, SearchConfig weight and floors).",
                "",
                "| recipe trained | EN cosine | EN search | ZH cosine | ZH search (query understanding) "
                "| EN paraphrases, search | title -> photo R@10 | photo -> title R@10 |",
                "|---|---|---|---|---|---|---|---|",
                *[
                    f"| {label} | {r['ndcg10_en']:.3f} ({r['ratio_en']:.2f}× BM25) | "
                    f"{r['ndcg10_en_boost']:.3f} (**{r['ratio_en_boost']:.2f}×**) | {r['ndcg10_zh']:.3f} "
                    f"({r['ratio_zh']:.2f}×) | {r['ndcg10_zh_mixed_boost']:.3f} (**{r['ratio_zh_mixed_boost']:.2f}×**) | "  # noqa: E501
                    f"{r['ndcg10_en_paraphrase_boost']:.3f} ({r['ratio_en_paraphrase_boost']:.2f}× BM25 on them) | "
                    f"{r['title_to_image_R@10']:.3f} | {r['image_to_title_R@10']:.3f} |"
                    for label, r in rows
                ],
                "",
            ]
    md = [
        "# Default alignment heads",
        "",
        "Shipped so that a store with few or no captions (e.g. a photo-only catalog) gets text->image",
        "and image->text search out of the box. Loaded with `Heads.load(default_heads_path())`.",
        "",
        f"* command: `{COMMAND}` (calls `shoplens.align.run.align_store`, the code path of `shoplens align`)"
        if "combined_from" not in metrics
        else f"* command: `{loaded.meta.get('command')}` (members trained apart, joined by "
        "`benchmarks/align_members.py combine --rows all --fit-mlp`; see below)",
        f"* data: {trained_on}",
        f"* inputs: image {loaded.image_inputs}, text {loaded.text_inputs} (e5 mode `{loaded.text_mode}`),"
        f" {loaded.dim}-d shared space"
        + (
            f" (an ensemble of {loaded.groups} heads of {loaded.dim // loaded.groups}-d, seeds "
            f"{cfg.seed}..{cfg.seed + loaded.groups - 1}, each L2-normalised, concatenated / sqrt({loaded.groups}))"
            if loaded.groups > 1
            else ""
        ),
        f"* encoder fingerprints: `{json.dumps(loaded.input_fingerprints)}`",
        f"* seed: {cfg.seed}; recipe: `{json.dumps(cfg.to_json())}`",
        f"* heads fingerprint: `{loaded.fingerprint}`; files: {size / 1e6:.2f} MB (float16)",
        f"* trained: {date} from commit {commit or '?'}"
        + (f"; {metrics['seconds_total']} s on {cfg.threads} threads" if metrics.get("seconds_total") else ""),
        "",
        *(
            [
                "Validation (a seeded held-out 10% of the pairs; the shipped heads were then refit on all pairs):",
                "",
                "```",
                format_metrics(metrics),
                "```",
            ]
            if val
            else [
                "Put together from members trained on every product (no validation slice): "
                f"`{json.dumps(metrics.get('combined_from'))}`. Each member's recipe: `AlignConfig.member`; "
                "held-out figures of the same recipe (members trained without the held-out 20%): "
                "[titles round 4](../../../docs/benchmarks.md#exact-titles-title-members-titles-round-4).",
            ]
        ),
        "",
        *bench,
        "Attribute-query quality on an image-only held-out slice: see `benchmarks/align_quality.py`",
        "(its heads are trained without the held-out products).",
        "",
        "Exact-title levers tried on held-out heads (title-only loss term, hard negatives; not in this recipe):",
        "[titles round 3](../../../docs/benchmarks.md#exact-titles-a-title-only-loss-term-titles-round-3).",
        "",
    ]
    (dst / "TRAINING.md").write_text("\n".join(md), encoding="utf-8")
    print(
        f"default heads written to {dst} ({size / 1e6:.2f} MB); validation: "
        + (
            f"t2i R@10 {val['text_to_image']['R@10']:.3f}, i2t R@10 {val['image_to_text']['R@10']:.3f}"
            if val
            else "none"
        )
        + f"{'' if bench else ' (no kept recipe v2 row in align_quality.json yet: rerun with --md-only later)'}"
    )


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # align_store's progress and metrics
    raise SystemExit(main())
