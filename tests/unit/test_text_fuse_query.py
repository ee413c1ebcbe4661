import numpy as np
import pytest

from shoplens.preprocess.text import tokenize
from shoplens.records import ComponentScore
from shoplens.search.fuse import Ranked, rrf
from shoplens.search.query import Query, QueryError, parse_filters


def test_tokenize_english_plurals_hyphens_and_chinese():
    assert tokenize("Nike Men Black Running SHOES") == ["nike", "men", "black", "running", "shoe"]
    assert tokenize("T-Shirts dresses watches") == ["tshirt", "dress", "watch"]
    zh = tokenize("男士黑色运动鞋")
    assert "男士" in zh and "黑色" in zh and "运动鞋" in zh
    assert tokenize("Ｎｉｋｅ") == ["nike"]  # full-width folded


def test_rrf_weights_ties_and_contributions():
    a = Ranked("a", np.array([1, 2, 3]), np.array([0.9, 0.8, 0.7]))
    b = Ranked("b", np.array([3, 2]), np.array([5.0, 4.0]))
    order, fused, parts = rrf([a, b], {"a": 1.0, "b": 2.0}, k=60)
    assert order[0] == 3  # rank 3 in a, rank 1 in b (weight 2)
    assert fused[3] == pytest.approx(1 / 63 + 2 / 61)
    assert parts[3]["b"].rank == 1 and parts[3]["a"].rank == 3
    order, _, _ = rrf([a, b], {"a": 1.0, "b": 0.0}, k=60)
    assert order == [1, 2, 3]  # zero weight drops a component
    tied = Ranked("t", np.array([5, 6]), np.array([1.0, 1.0]), ranks=np.array([1, 1]))
    _, fused, _ = rrf([tied], {}, k=60)
    assert fused[5] == fused[6]


def test_query_validation_and_filters():
    with pytest.raises(QueryError, match="needs text, an image"):
        Query().validate()
    with pytest.raises(QueryError, match="k must be"):
        Query(text="x", k=0).validate()
    with pytest.raises(QueryError, match="text must be a string"):
        Query(text=5).validate()
    with pytest.raises(QueryError, match="line 3: unknown field"):
        Query.from_json({"text": "x", "bogus": 1}, where="line 3")
    assert parse_filters(["gender=Men", "gender=Women", "price<=50"]) == {"gender": ["Men", "Women"], "price": "<=50"}
    with pytest.raises(QueryError, match="FIELD=VALUE"):
        parse_filters(["gender"])


def test_modality_aware_fusion_lets_photo_only_products_compete():
    text = Ranked("bm25", np.array([1, 2]), np.array([3.0, 2.0]))
    t2i = Ranked("text_to_image", np.array([3, 1, 2]), np.array([0.9, 0.8, 0.7]))
    avail = {
        "bm25": np.array([False, True, True, False]),  # doc 3 has only a photo
        "text_to_image": np.ones(4, bool),
    }
    order, fused, parts = rrf([text, t2i], {}, k=60)
    assert order[0] == 1  # plain RRF: photo-only doc 3 can't win
    order, fused, parts = rrf([text, t2i], {}, k=60, available=avail)
    assert order[0] == 3 and fused[3] == pytest.approx(2 / 61)  # its one vote, scaled to both weights
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)  # docs with both modalities unchanged
    assert parts[3]["text_to_image"].contribution == pytest.approx(2 / 61)


@pytest.mark.parametrize(
    "items, named",
    [
        (["gender=Men", "price<="], "price<="),  # was silently dropped, widening the results
        (["colour!=Red"], "colour!=Red"),  # parsed, then failed deep in the search
        (["size>big"], "size>big"),
        (["=Men"], "=Men"),
        (["gender"], "gender"),
    ],
)
def test_malformed_filter_is_an_error_naming_it(items, named):
    with pytest.raises(QueryError) as e:
        parse_filters(items)
    assert repr(named) in str(e.value)


def test_filters_with_operators_and_spaces():
    got = parse_filters(["price < 20.5", "size>=10", "usage = Casual", "price!=3"])
    assert got == {"price": ["<20.5", "!=3"], "size": ">=10", "usage": "Casual"}
    assert parse_filters(["title=a=b"]) == {"title": "a=b"}  # only the first operator splits


def test_weighted_rrf_contributions_scores_ranks_and_scaling_are_exact():
    """Every number `--explain` shows: contribution = w / (60 + rank); the retriever's own score and
    rank; photo-only products scaled by total weight / weight of the retrievers that could see them."""
    a = Ranked("a", np.array([5, 6]), np.array([9.5, 7.25]))
    b = Ranked("b", np.array([6, 7]), np.array([0.75, 0.5]), ranks=np.array([1, 1]))  # a tie: both rank 1
    off = Ranked("off", np.array([5]), np.array([1.0]))
    order, fused, parts = rrf([a, b, off], {"a": 1.0, "b": 2.0, "off": 0.0})
    assert "off" not in parts[5]  # weight 0: not fused at all
    assert parts[5]["a"] == ComponentScore(9.5, 1, pytest.approx(1 / 61))
    assert parts[6]["b"].score == 0.75 and parts[6]["b"].rank == 1 and parts[7]["b"].rank == 1
    assert fused[6] == pytest.approx(1 / 62 + 2 / 61) and fused[7] == pytest.approx(2 / 61)
    assert order == [6, 7, 5]
    # doc 7 can only be seen by b (weight 2 of 3): its vote is scaled by 3/2
    avail = {"a": np.array([True] * 7 + [False]), "b": np.ones(8, bool)}
    order, fused, parts = rrf([a, b], {"a": 1.0, "b": 2.0}, available=avail)
    assert fused[7] == pytest.approx(2 / 61 * 3 / 2) and fused[6] == pytest.approx(1 / 62 + 2 / 61)
    assert parts[7]["b"] == ComponentScore(0.5, 1, pytest.approx(2 / 61 * 3 / 2))
    # a component that returned a doc its own mask calls unavailable: left as is, never divided by zero
    odd = {"a": np.zeros(8, bool), "b": np.zeros(8, bool)}
    _, fused, _ = rrf([a, b], {"a": 1.0, "b": 2.0}, available=odd)
    assert fused[5] == pytest.approx(1 / 61)


def test_weights_are_checked_wherever_a_query_comes_from():
    """CLI flag, batch line, HTTP parameter and library call all go through Query.validate."""
    from shoplens.search.query import Query, QueryError

    assert Query(text="x", weights={"bm25": 2, "image": 0}).validate().weights == {"bm25": 2.0, "image": 0.0}
    for bad in ({"bm25": -1}, {"bm25": "2"}, {"bm25": True}, ["bm25"]):
        with pytest.raises(QueryError, match="number >= 0"):
            Query(text="x", weights=bad).validate()  # type: ignore[arg-type]
