"""Purchase histories as a sparse (customers x products) 0/1 matrix: what fitting and
scoring the recommender multiply with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse


def history_matrix(
    histories: Sequence[Sequence[str] | None], index: dict[str, int], n_items: int
) -> sparse.csr_matrix:
    """(customers x items) 0/1 matrix of what each customer bought; unknown
    products are ignored."""
    indptr, indices = [0], []
    for products in histories:
        known = sorted({index[p] for p in products or () if p in index})
        indices.extend(known)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sparse.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(histories), n_items),
    )


def history_matrix_of_lists(products: pa.Array, known: pa.Array) -> sparse.csr_matrix:
    """history_matrix of an Arrow list<string> column (one row per list, a
    null list is empty), the products looked up in `known` (the catalog in
    index order) in one vectorised call instead of one dict lookup each."""
    if isinstance(products, pa.ChunkedArray):
        products = products.combine_chunks()
    n_rows = len(products)
    lengths = pc.fill_null(pc.list_value_length(products), 0).to_numpy(zero_copy_only=False)
    positions = pc.index_in(pc.list_flatten(products), value_set=known)
    items = pc.fill_null(positions, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths.astype(np.int64))
    found = items >= 0
    history = sparse.csr_matrix(
        (np.ones(int(found.sum()), dtype=np.float32), (rows[found], items[found])),
        shape=(n_rows, len(known)),
    )
    history.sum_duplicates()  # sorted columns; a product bought twice counts once
    history.data[:] = 1.0
    return history
