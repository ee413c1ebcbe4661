"""Write one complete generation from products + features (+ alignment heads), then publish it.

Everything is written into `gen-N.tmp`; only the final rename of CURRENT makes
it visible. A crash at any point leaves the previous generation live and the
feature cache holding every batch that finished, so re-running resumes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..config import IndexConfig
from ..encoders.base import Encoder
from ..features.combine import combine_image
from ..features.extract import FeatureSet
from ..preprocess.attributes import EXTRACTED_PREFIX
from ..preprocess.field_map import DERIVED_TYPE_COLUMN, infer_field_map
from ..preprocess.lexicon import Lexicon, default_lexicon
from ..records import Product
from .backends import backend_for_build
from .extracted import as_attributes, extract_for_store, with_extracted_fields, write_sources
from .layout import SCHEMA_VERSION, StoreError, clean_interrupted, fault_point, new_generation, publish
from .lexical import TOKENIZER_VERSION, LexicalIndex
from .manifest import FieldInfo, Manifest
from .modalities import modality_fields, write_modalities
from .photo_text import PHOTO_TEXT_LEXICAL, write_photo_text
from .products import ProductTable

log = logging.getLogger(__name__)


def derived_attributes(products: Sequence[Product], lex: Lexicon | None = None) -> list[dict[str, str]]:
    """Attributes shoplens infers: product type from the title (unless the catalog has a `type` column)."""
    lex = lex or default_lexicon()
    out = []
    for p in products:
        d: dict[str, str] = {}
        if DERIVED_TYPE_COLUMN not in p.attributes:
            t = lex.product_type(p.title)
            if t:
                d[DERIVED_TYPE_COLUMN] = t
        out.append(d)
    return out


def vector_fields(
    fs: FeatureSet, heads: Any | None, image_part_weights: dict[str, float] | None = None
) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """field name -> (source, vectors, doc ids) for every vector field a generation holds; the
    `image` field is re-combined from the cached per-encoder features with `image_part_weights`."""
    fields: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    t_docs = np.flatnonzero(fs.has_text)
    i_docs = np.flatnonzero(fs.has_image)
    for name, mat in fs.text.items():
        fields[f"text:{name}"] = (f"encoder:{name}", mat[t_docs], t_docs)
    if fs.image:
        fields["image"] = (
            "combined:" + "+".join(sorted(fs.image)),
            combine_image(fs.image, image_part_weights)[i_docs],
            i_docs,
        )
    o_docs = np.flatnonzero(fs.has_ocr) if len(fs.has_ocr) else np.zeros(0, np.int64)
    for name, mat in fs.ocr.items():  # text printed in photos (features/ocr.py)
        if len(o_docs):
            fields[f"ocr:{name}"] = (f"encoder:{name}:photo-text", mat[o_docs], o_docs)
    if heads is not None:
        if fs.image and all(n in fs.image for n in heads.image_inputs):
            fields["aligned:image"] = (
                f"heads:{heads.fingerprint}:image",
                heads.embed_image({n: fs.image[n][i_docs] for n in heads.image_inputs}),
                i_docs,
            )
        if all(n in fs.text for n in heads.text_inputs):
            fields["aligned:text"] = (
                f"heads:{heads.fingerprint}:text",
                heads.embed_text({n: fs.text[n][t_docs] for n in heads.text_inputs}),
                t_docs,
            )
    fields.update(modality_fields(fs, heads, image_part_weights))
    return fields


def write_generation(
    store: Path,
    fs: FeatureSet,
    encoders: Sequence[Encoder],
    heads: Any | None,
    heads_info: dict[str, Any] | None,
    catalogs: list[str],
    ingest: dict[str, Any],
    cfg: IndexConfig,
    lex: Lexicon | None = None,
    config_fingerprint: str | None = None,
) -> Manifest:
    """`lex`: the store's lexicon (derived types, field map); `config_fingerprint`: recorded as is."""
    t0 = time.perf_counter()
    lex = lex or default_lexicon()
    clean_interrupted(store)
    tmp, final = new_generation(store)
    products = fs.products
    derived = derived_attributes(products, lex)
    extracted = extract_for_store(products, derived, fs.photo_text, lex) if cfg.extract_attributes else []
    if extracted:
        derived = [{**d, **as_attributes(e)} for d, e in zip(derived, extracted)]
    table = ProductTable.create(tmp / "products.sqlite", products, derived)
    values = table.attribute_values()
    field_map = infer_field_map({k: v for k, v in values.items() if not k.startswith(EXTRACTED_PREFIX)}, lex=lex)
    field_map = with_extracted_fields(field_map, set(values))
    table.close()
    if extracted:
        write_sources(tmp / "products.sqlite", extracted)
    fault_point("after-products")
    (tmp / "vectors").mkdir()
    infos: dict[str, FieldInfo] = {}
    part_weights = {n: cfg.image_part_weights.get(n, 1.0) for n in sorted(fs.image)}
    backend = backend_for_build(store, cfg)
    for name, (source, vecs, docs) in vector_fields(fs, heads, part_weights).items():
        where = backend.write_field(tmp, final.name, name, vecs, docs, len(products))
        infos[name] = FieldInfo(
            name=name,
            dim=int(vecs.shape[1]) if vecs.ndim == 2 else 0,
            rows=len(docs),
            source=source,
            **where,  # index kind and file (+ codec and exact_file for quantised faiss fields)
        )
    backend.finish()
    fault_point("after-vectors")
    LexicalIndex.build(tmp / "lexical", products)
    ingest = {**ingest, **write_modalities(tmp, store, fs, cfg, backend, final.name)}
    backend.finish()  # the review vectors, when they went to the backend too
    lexical = {"path": "lexical", "tokenizer": TOKENIZER_VERSION, "docs": len(products)}
    if any(fs.photo_text):
        write_photo_text(tmp / "products.sqlite", fs.photo_text)
        LexicalIndex.build(tmp / PHOTO_TEXT_LEXICAL, products, fs.photo_text)
        lexical["photo_text"] = PHOTO_TEXT_LEXICAL
    fault_point("after-lexical")
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        shoplens_version=__version__,
        generation=final.name,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        products=len(products),
        catalogs=catalogs,
        encoders={e.name: {"modality": e.modality, "dim": e.dim, "fingerprint": e.fingerprint()} for e in encoders},
        fields=infos,
        field_map=field_map,
        # space_fingerprint: the towers that made the aligned vectors (classifiers may change later)
        heads=(
            {**heads_info, "space_fingerprint": heads.space_fingerprint}
            if heads_info is not None and heads is not None
            else heads_info
        ),
        lexical=lexical,
        ingest=ingest,
        timings_s={**fs.timings_s, "write": time.perf_counter() - t0},
        image_part_weights=part_weights if "image" in infos else {},
        config_fingerprint=config_fingerprint,
        lexicon=lex.fingerprint(),
        vectors=backend.describe(),
    )
    manifest.save(tmp)
    fault_point("after-manifest")
    publish(store, tmp, final, keep=cfg.keep_generations)
    try:
        backend.retire(store)  # e.g. Milvus collections of the generations publish just dropped
    except StoreError as e:  # the new generation is live; leftovers go at the next build
        log.warning("%s: could not drop retired vectors (%s)", store, e)
    finally:
        backend.close()
    return manifest
