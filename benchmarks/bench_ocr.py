"""Text printed in photos (OCR): what it costs at index time and what it adds to search, one run.

The catalog: N shared fashion products (titles, attributes, photos) plus P products whose only
text is a word printed onto a real shared product photo (half English, half Chinese; drawn with
PIL). The same catalog is indexed three times from scratch (fresh store, empty feature cache):
`[index] ocr = "off"` (the baseline), `"auto"` (the text-detector gate decides which photos are
read, the default) and `"on"` (every photo read). Then each printed word is searched (`Engine.search`)
in the off and auto stores: NDCG@10 of the one product that carries it.

    .venv/bin/python benchmarks/bench_ocr.py                    # 300 + 20 products
    .venv/bin/python benchmarks/bench_ocr.py --products 600 --printed 40
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from pathlib import Path

from common import FASHION, OUT, engine_config, ensure_onnx, md_table, read_fashion_rows, subset_rows, write_json
from PIL import Image, ImageDraw, ImageFont

from shoplens.config import BuildConfig, EngineConfig, IndexConfig
from shoplens.engine import Engine

EN = ["ZORBLAX", "QUIVENTA", "MORVELLO", "TRAXIMO", "BELDUNE", "KORVAST", "WINTRELL", "FAXOLEN", "GRUMPLE", "VESTORIA"]
ZH = ["熊猫", "长城", "龙井", "故宫", "飞燕", "青松", "白鹭", "锦鲤", "海棠", "银杏"]
FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def printed_photo(src: Path, dst: Path, word: str) -> Path:
    img = Image.open(src).convert("RGB")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 30)
    w = draw.textlength(word, font=font)
    draw.text(((img.width - w) / 2, img.height * 0.4), word, font=font, fill=(0, 0, 0), stroke_width=2,
              stroke_fill=(255, 255, 255))  # fmt: skip
    img.save(dst, quality=92)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=300)
    ap.add_argument("--printed", type=int, default=20, help="products whose only text is printed in the photo")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    work = OUT / "ocr"
    shutil.rmtree(work, ignore_errors=True)
    (work / "photos").mkdir(parents=True)
    rows = subset_rows(read_fashion_rows(), args.products + args.printed, seed=3)
    titled, blank = rows[: args.products], rows[args.products :]
    words = [w for pair in zip(EN, ZH) for w in pair][: args.printed]
    if len(words) < len(blank):
        raise SystemExit(f"--printed at most {len(EN) + len(ZH)}")
    lines = [
        {"id": r["id"], "title": r["productDisplayName"], "image": str(FASHION / r["image"]), "colour": r["baseColour"]}
        for r in titled
    ]
    printed = {}
    for r, word in zip(blank, words):
        pid = f"printed-{r['id']}"
        printed[pid] = word
        lines.append(
            {"id": pid, "image": str(printed_photo(FASHION / r["image"], work / "photos" / f"{pid}.jpg", word))}
        )
    cat = work / "catalog.jsonl"
    cat.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    ensure_onnx()
    base = engine_config(args.threads)
    seconds, timings = {}, {}
    for mode in ("off", "auto", "on"):
        cfg = EngineConfig(encoders=base.encoders, index=IndexConfig(ocr=mode))
        t0 = time.perf_counter()
        eng = Engine.build(cat, work / mode, cfg, BuildConfig(progress=False, auto_align=False))
        seconds[mode] = time.perf_counter() - t0
        timings[mode] = dict(eng.manifest.timings_s)
        eng.close()
        print(f"ocr={mode}: {seconds[mode]:.1f} s", flush=True)
    ndcg = {}
    for mode in ("off", "auto"):
        with Engine.open(work / mode, base) as eng:
            gains = []
            for pid, word in printed.items():
                ids = eng.search(word.lower(), k=10).ids
                gains.append(1 / math.log2(ids.index(pid) + 2) if pid in ids else 0.0)
            ndcg[mode] = sum(gains) / len(gains)
    n_photos = len(lines)
    t_auto, t_on = timings["auto"], timings["on"]
    table = [
        ["ocr = off (baseline)", f"{seconds['off']:.1f}", "1.00", "-", f"{ndcg['off']:.3f}"],
        [
            "ocr = auto (gate)",
            f"{seconds['auto']:.1f}",
            f"{seconds['auto'] / seconds['off']:.2f}",
            f"{int(t_auto.get('ocr:read_photos', 0))} of {n_photos} read",
            f"{ndcg['auto']:.3f}",
        ],
        [
            "ocr = on",
            f"{seconds['on']:.1f}",
            f"{seconds['on'] / seconds['off']:.2f}",
            f"{int(t_on.get('ocr:read_photos', 0))} of {n_photos} read",
            "-",
        ],
    ]
    print(md_table(["indexing", "seconds", "x baseline", "photos", "NDCG@10 (printed words)"], table))
    gate_rate = n_photos / max(t_auto.get("ocr:gate", 0.0), 1e-9)
    read_rate = t_on.get("ocr:read_photos", 0) / max(t_on.get("ocr:read", 0.0), 1e-9)
    print(f"gate {gate_rate:.1f} photos/s; reading {read_rate:.1f} photos/s; {len(printed)} printed-word queries")
    write_json(
        "bench_ocr",
        {
            "seconds": seconds,
            "timings": timings,
            "ndcg@10": ndcg,
            "gate_photos_s": gate_rate,
            "read_photos_s": read_rate,
        },
    )


if __name__ == "__main__":
    main()
