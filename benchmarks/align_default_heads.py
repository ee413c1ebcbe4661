"""Train the default alignment heads shipped in shoplens/align/default_heads/.

    .venv/bin/python benchmarks/align_default_heads.py

Same code path as `shoplens align` (shoplens.align.run.align_store with the
default AlignConfig), on all 7,710 products of ../shared/data/fashion. Encoder
features come from the benchmark feature cache (benchmarks/out/align_cache),
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FASHION, FIELD_MAP, REPO, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402

from shoplens.align.config import AlignConfig  # noqa: E402
from shoplens.align.heads import Heads, default_heads_path  # noqa: E402
from shoplens.align.run import align_store, format_metrics  # noqa: E402

COMMAND = ".venv/bin/python benchmarks/align_default_heads.py"


def main() -> int:
    cfg = AlignConfig()
    encs = make_encoders()
    cache = feature_cache()
    products = load_fashion()
    fs = featureset(products, encs, cache)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    provenance = {"source": "shipped defaults", "command": COMMAND, "base_commit": commit,
                  "trained_on": f"all {len(products)} products of ../shared/data/fashion/catalog.csv "
                                f"(images + productDisplayName; attributes gender/baseColour for captions)",
                  "field_map": FIELD_MAP}
    with tempfile.TemporaryDirectory() as tmp:
        heads, metrics, path = align_store(fs, cache, encs, cfg, Path(tmp) / "heads", field_map=FIELD_MAP,
                                           provenance=provenance)
        dst = default_heads_path()
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("heads.npz", "heads.json", "metrics.json"):
            shutil.copyfile(path / name, dst / name)
    loaded = Heads.load(dst)
    assert loaded.fingerprint == heads.fingerprint
    size = sum(p.stat().st_size for p in dst.iterdir())
    val = metrics["validation"]
    md = [
        "# Default alignment heads",
        "",
        "Shipped so that a store with few or no captions (e.g. a photo-only catalog) gets text->image",
        "and image->text search out of the box. Loaded with `Heads.load(default_heads_path())`.",
        "",
        f"* command: `{COMMAND}` (calls `shoplens.align.run.align_store`, the code path of `shoplens align`)",
        f"* data: {provenance['trained_on']}",
        f"* inputs: image {loaded.image_inputs}, text {loaded.text_inputs} (e5 mode `{loaded.text_mode}`),"
        f" {loaded.dim}-d shared space",
        f"* encoder fingerprints: `{json.dumps(loaded.input_fingerprints)}`",
        f"* seed: {cfg.seed}; recipe: `{json.dumps(cfg.to_json())}`",
        f"* heads fingerprint: `{loaded.fingerprint}`; files: {size / 1e6:.2f} MB (float16)",
        f"* trained: {time.strftime('%Y-%m-%d')} from commit {commit or '?'}; {metrics.get('seconds_total')} s "
        f"on {cfg.threads} threads",
        "",
        "Validation (a seeded held-out 10% of the pairs; the shipped heads were then refit on all pairs):",
        "",
        "```",
        format_metrics(metrics),
        "```",
        "",
        "Attribute-query quality on an image-only held-out slice: see `benchmarks/align_quality.py`",
        "(its heads are trained without the held-out products).",
        "",
    ]
    (dst / "TRAINING.md").write_text("\n".join(md), encoding="utf-8")
    print(f"default heads written to {dst} ({size / 1e6:.2f} MB); validation: "
          f"t2i R@10 {val['text_to_image']['R@10']:.3f}, i2t R@10 {val['image_to_text']['R@10']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
