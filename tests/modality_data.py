"""Catalog rows with videos made from real fashion photos and real Chinese customer reviews."""

from __future__ import annotations

import random
from pathlib import Path

from shoplens.preprocess.video import write_slideshow

from .shared_data import FASHION, need

# Bland-titled products and the word their (real) reviews say they are for: every shared review
# containing it goes to that product, and no other product's reviews contain it.
REVIEW_TOPICS = {"恐龙": "Item 9001", "钓鱼": "Item 9002"}


def real_reviews() -> list[str]:
    lines = []
    for name in ("pos.txt", "neg.txt"):
        lines += need(f"reviews_zh/{name}").read_text(encoding="utf-8").splitlines()
    return [x.strip() for x in lines if 10 <= len(x.strip()) <= 400]


def topic_reviews(word: str, n: int = 4) -> list[str]:
    return [r for r in real_reviews() if word in r][:n]


def distractor_reviews(n: int, seed: int = 0) -> list[str]:
    pool = [r for r in real_reviews() if not any(w in r for w in REVIEW_TOPICS)]
    return random.Random(seed).sample(pool, n)


def video_of(row: dict, out_dir: Path, seconds: float = 2.0) -> Path:
    """A short clip of the product's own photo (slow zoom), like a shop's product video."""
    return write_slideshow(out_dir / f"{row['id']}.mp4", [FASHION / row["image"]], seconds_each=seconds, fps=10)
