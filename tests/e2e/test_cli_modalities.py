"""`shoplens index CATALOG --reviews FILE` on a JSONL catalog mixing a video-only product, a product
whose only text is printed in its photo and a bland-titled product with real reviews; each is found
by what only its own modality can answer."""

from __future__ import annotations

import json
import shutil

from ..conftest import FASHION, fashion_rows
from ..modality_data import REVIEW_TOPICS, distractor_reviews, topic_reviews, video_of
from ..ocr.printed import print_word
from .test_cli import run


def test_index_videos_and_reviews_file_from_the_cli(tmp_path, onnx_cache):
    rows = fashion_rows(30)
    # rows[1] is the same skirt as rows[0] photographed alike: left out, so the photo has one answer
    catalog = [{"id": r["id"], "title": r["productDisplayName"], "image": str(FASHION / r["image"])} for r in rows[2:]]
    catalog.append({"id": rows[0]["id"], "video": str(video_of(rows[0], tmp_path))})  # only a video
    catalog.append({"id": "9001", "title": REVIEW_TOPICS["恐龙"]})  # bland title; reviews come from the file
    other = fashion_rows(1, offset=700)[0]  # no title: its only text is a word printed in its photo
    catalog.append(
        {"id": "printed", "image": str(print_word(FASHION / other["image"], tmp_path / "p.jpg", "ZORVENTA"))}
    )
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in catalog), encoding="utf-8")
    with open(tmp_path / "reviews.jsonl", "w", encoding="utf-8") as f:
        for text in topic_reviews("恐龙", 3):
            f.write(json.dumps({"product_id": "9001", "text": text, "rating": 5, "date": "2025-01-01"}) + "\n")
        for r, text in zip(rows[2:12], distractor_reviews(10)):
            f.write(json.dumps({"product_id": r["id"], "text": text, "rating": 3}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"product_id": "no-such-id", "text": "lost review"}) + "\n")
    store = tmp_path / "store"
    shutil.copytree(onnx_cache, store / "cache" / "onnx")  # the session's ONNX exports: no export of its own
    p = run("index", tmp_path / "c.jsonl", "--reviews", tmp_path / "reviews.jsonl", "--store", store, "--no-align")
    assert "video (1 x" in p.stdout and "review:e5 (11 x" in p.stdout
    assert "no-such-id" in p.stderr and "no product with this id" in p.stderr  # reported, not fatal

    out = json.loads(run("search", "--store", store, "恐龙", "--json", "--k", "3").stdout)
    top = out["results"][0]
    assert top["id"] == "9001" and "恐龙" in top["review_snippet"]  # chance 1/30
    out = json.loads(run("search", "--store", store, "zorventa", "--json", "--k", "3").stdout)
    assert out["results"][0]["id"] == "printed"  # chance 1/31
    p = run("search", "--store", store, "恐龙", "--explain", "--k", "1")
    assert "review: " in p.stdout and "reviews" in p.stdout

    out = json.loads(
        run("search", "--store", store, "--image", FASHION / rows[0]["image"], "--json", "--explain").stdout
    )
    assert out["results"][0]["id"] == rows[0]["id"] and "image_to_video" in out["results"][0]["explain"]
