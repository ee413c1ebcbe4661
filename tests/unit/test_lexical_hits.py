"""BM25 hits are mapped to doc numbers through the `doc` fast field; the stored documents agree."""

from __future__ import annotations

from shoplens.records import Product
from shoplens.store.lexical import LexicalIndex


def test_fast_field_doc_numbers_equal_the_stored_ones(tmp_path):
    titles = [
        "black running shoes",
        "blue jeans",
        "black leather shoes",
        "red dress",
        "shoes rack black",
        "黑色 运动鞋",
    ]
    idx = LexicalIndex.build(tmp_path / "lex", [Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    scores, docs = idx.search("black shoes", 10)
    assert idx._fast_docs and sorted(docs.tolist()) == [0, 2, 4]
    stored = [idx._searcher.doc(a)["doc"][0] for _, a in idx._searcher.search(idx_query(idx, "black shoes"), 10).hits]
    assert docs.tolist() == stored
    idx._fast_docs = False  # the stored-document path (an index whose `doc` is not a fast field)
    again = idx.search("black shoes", 10)
    assert again[1].tolist() == docs.tolist() and again[0].tolist() == scores.tolist()
    assert idx.search("运动鞋", 10)[1].tolist() == [5]


def idx_query(idx: LexicalIndex, text: str):
    import tantivy

    from shoplens.preprocess.text import tokenize

    terms = [tantivy.Query.term_query(idx.schema, "tokens", t) for t in dict.fromkeys(tokenize(text, idx.simplify))]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in terms])
