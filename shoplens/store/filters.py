"""A filter's doc mask that still knows the filter it came from.

Every retriever restricts its candidates by a bool mask over docs (one source of truth for filter
semantics: the product table). A backend that holds the filterable attributes itself (Milvus scalar
fields) can do better than a list of a million allowed ids when it knows the filter, so the mask the
product table makes carries it. Only that very object does: any array derived from it (a slice, `&`, a
copy) is a plain mask again, and `filters_of` also checks that the mask was not changed in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class FilterMask(np.ndarray):
    """A bool mask over docs, plus `filters` (as given to `ProductTable.filter_mask`) and how many
    docs it allowed when made."""

    filters: dict[str, Any] | None
    allowed_count: int

    @classmethod
    def of(cls, mask: np.ndarray, filters: dict[str, Any]) -> FilterMask:
        out = np.asarray(mask, dtype=bool).view(cls)
        out.filters = dict(filters)
        out.allowed_count = int(np.count_nonzero(out))
        return out

    def __array_finalize__(self, obj: Any) -> None:
        # a view, slice or result of an operation is just a mask: it may no longer match the filter
        self.filters = None
        self.allowed_count = -1


def filters_of(mask: np.ndarray | None) -> dict[str, Any] | None:
    """The filter a mask stands for exactly, or None (a plain or modified mask)."""
    if not isinstance(mask, FilterMask) or mask.filters is None:
        return None
    if int(np.count_nonzero(mask)) != mask.allowed_count:  # changed in place since: no longer the filter
        return None
    return mask.filters
