"""BM25 over product text with tantivy, on shoplens's own tokens.

Text is tokenised by `preprocess.text.tokenize` (jieba for Chinese) before it
reaches tantivy, and stored through tantivy's whitespace tokenizer, so index
and query see exactly the same tokens in both languages. Filters arrive
as a doc mask from the product table (one source of truth for filter
semantics) and restrict BM25 matching before ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tantivy

from ..preprocess.text import tokenize
from ..records import Product

# v2 reads Traditional Chinese as Simplified on both sides; a v1 index keeps v1 query tokens.
TOKENIZER_VERSION = "shoplens-tok-2"
_SIMPLIFYING = {"shoplens-tok-2"}


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("doc", stored=True, indexed=True, fast=True)
    sb.add_text_field("tokens", tokenizer_name="whitespace", index_option="freq")
    return sb.build()


class LexicalIndex:
    def __init__(self, index: tantivy.Index, tokenizer: str = TOKENIZER_VERSION):
        self.index = index
        self.simplify = tokenizer in _SIMPLIFYING
        self.schema = index.schema
        self._searcher = index.searcher()
        self._fast_docs = True

    @classmethod
    def build(cls, path: Path, products: Sequence[Product], texts: Sequence[str] | None = None) -> LexicalIndex:
        """`texts`: index these (one per product, e.g. text read from its photos) instead of `Product.text()`."""
        path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(_schema(), path=str(path))
        writer = index.writer(heap_size=128_000_000, num_threads=1)
        for doc, p in enumerate(products):
            d = tantivy.Document()
            d.add_unsigned("doc", doc)
            toks = tokenize(p.text() if texts is None else texts[doc], simplify=True)
            if toks:
                d.add_text("tokens", " ".join(toks))
            writer.add_document(d)
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        return cls(index)

    @classmethod
    def load(cls, path: Path, tokenizer: str = TOKENIZER_VERSION) -> LexicalIndex:
        """`tokenizer`: the version the index was built with (its manifest says), so queries get the same tokens."""
        return cls(tantivy.Index.open(str(path)), tokenizer)

    def known_share(self, text: str, extra_tokens: Sequence[str] = ()) -> float:
        """Share of the query's distinct tokens that occur in at least one indexed text (0..1; 0 for
        no tokens): how much of the query this index could explain at best."""
        toks = list(dict.fromkeys(tokenize(text, self.simplify) + list(extra_tokens)))
        if not toks:
            return 0.0
        return sum(self._searcher.doc_freq("tokens", t) > 0 for t in toks) / len(toks)

    def search(
        self, text: str, k: int, allowed_docs: np.ndarray | None = None, extra_tokens: Sequence[str] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """BM25 top-k; `allowed_docs` (bool mask from the product table) restricts matching before ranking."""
        toks = list(dict.fromkeys(tokenize(text, self.simplify) + list(extra_tokens)))
        if not toks:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        should = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "tokens", t)) for t in toks]
        query = tantivy.Query.boolean_query(should)
        if allowed_docs is not None and not allowed_docs.all():
            allowed = np.flatnonzero(allowed_docs)
            if len(allowed) == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            docs_q = tantivy.Query.term_set_query(self.schema, "doc", [int(d) for d in allowed])
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, docs_q)])
        # count=False: no total hit count, so tantivy may skip documents that cannot reach the top k
        # (same hits and scores; p50 0.84x at 1M products, benchmarks/bench_1m_tune.py)
        res = self._searcher.search(query, k, count=False)
        if not res.hits:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.array([s for s, _ in res.hits], np.float32)
        return scores, np.array(self._docs_of([a for _, a in res.hits]), np.int64)

    def _docs_of(self, addresses: list) -> list[int]:
        """Our doc numbers of these hits, read from the `doc` fast field (a column read) rather than
        from each hit's stored document (a block decompressed per hit: 3/4 of a query's BM25 time)."""
        got = None
        if self._fast_docs:
            try:
                got = self._searcher.fast_field_values("doc", addresses)
            except (ValueError, AttributeError):  # an index whose `doc` is not a fast field, an older tantivy
                self._fast_docs = False
        if got is None:
            got = [None] * len(addresses)
        return [self._searcher.doc(a)["doc"][0] if d is None else int(d) for d, a in zip(got, addresses)]
