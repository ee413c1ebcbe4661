"""Photo + "cheaper": the photo says what kind of product, the words say which way the price moves.

"cheaper" / "更便宜" with a photo keeps the products priced below the photo's own product (the
catalog product nearest the photo, which is the product itself when the shopper photographed
one from the shop); "more expensive" / "更贵" keeps those priced above it. Products without a
price cannot be compared and are left out of such a page. Without a photo, or when the nearest
product has no price, there is nothing to compare with and the page is left as it is.
"""

from __future__ import annotations

import numpy as np

from ..store.products import ProductTable

_OPS = {"lower": "<", "higher": ">"}


def relative_price_mask(products: ProductTable, reference_doc: int, direction: str) -> tuple[np.ndarray, float] | None:
    """(mask over docs of products priced below/above the reference product, its price), or None
    when the reference has no price (or the direction is unknown)."""
    op = _OPS.get(direction)
    if op is None:
        return None
    ref = products.get([int(reference_doc)]).get(int(reference_doc))
    if ref is None or ref.price is None:
        return None
    return products.filter_mask({"price": f"{op}{ref.price!r}"}), float(ref.price)
