"""Customer features for segments, from what customers bought.

A customer is the row of a customer x product matrix over the most-bought
products of the fit sample (a product bought by more customers first, ties by
product id), weighted by tf-idf: 1 for a product bought, times its inverse
document frequency log((1 + n) / (1 + buyers)) + 1, so a product everybody buys
says less about a customer than a speciality does. The product factors are the
top right singular vectors of that matrix over the sample (a truncated SVD with
a fixed start, no random one); a customer's
feature vector is their row folded onto them (x @ V), scaled to unit length,
so only the direction of what they buy counts, not how much.

Labelling a customer later needs only their product list: products outside
the vocabulary are ignored, and a customer who bought none of them has a zero
feature vector (nothing to place them by).

On the UCI Online Retail data the mean of the product titles' sentence
embeddings is one dense blob (every product a gift), while these factors
separate customers by what they actually buy together (docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

ProductList = Sequence[str]
_BASKET_TYPE = pa.list_(pa.string())


@dataclass(frozen=True)
class PurchaseFactors:
    """The fitted vocabulary, its idf weights and the product factors."""

    product_ids: tuple[str, ...]  # the vocabulary, in column order
    idf: np.ndarray  # (n_products,)
    components: np.ndarray  # (n_products, k): product factors, one column per factor
    singular_values: np.ndarray  # (k,), largest first
    explained_variance_ratio: float  # share of the matrix's squared norm the factors keep

    @property
    def n_components(self) -> int:
        return int(self.components.shape[1])

    def matrix(self, baskets: Sequence[ProductList] | pa.Array) -> sp.csr_matrix:
        """The tf-idf rows of `baskets` (lists of product ids, or an Arrow list
        array of them) over the vocabulary. Arrow's index lookup maps the
        product ids to columns, no Python loop per purchase."""
        lists = baskets if isinstance(baskets, pa.Array) else pa.array(baskets, _BASKET_TYPE)
        lists = lists.cast(_BASKET_TYPE)
        flat = pc.list_flatten(lists)
        parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        columns = pc.index_in(flat, value_set=pa.array(self.product_ids, pa.string()))
        known = columns.is_valid().to_numpy(zero_copy_only=False)
        cols = columns.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)[known]
        rows = np.asarray(parents, dtype=np.int64)[known]
        matrix = sp.csr_matrix(
            (np.ones(len(cols)), (rows, cols)),
            shape=(len(lists), len(self.product_ids)),
            dtype=np.float64,
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0  # bought or not: a product listed twice counts once
        return sp.csr_matrix(matrix.multiply(self.idf[None, :]))

    def transform(self, baskets: Sequence[ProductList] | pa.Array) -> np.ndarray:
        """Unit-length feature vectors (n, k); zero rows for baskets outside the vocabulary."""
        if len(baskets) == 0:
            return np.zeros((0, self.n_components))
        folded = np.asarray(self.matrix(baskets) @ self.components, dtype=np.float64)
        return unit_rows(folded)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    data = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    return data / np.where(norms > 0, norms, 1.0)


def _weighted_matrix(
    baskets: Sequence[ProductList], column: dict[str, int], idf: np.ndarray
) -> sp.csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    for i, basket in enumerate(baskets):
        found = {column[p] for p in basket if p in column}
        rows.extend([i] * len(found))
        cols.extend(sorted(found))
    data = idf[np.asarray(cols, dtype=np.int64)] if cols else np.zeros(0)
    return sp.csr_matrix(
        (data, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(baskets), len(column)),
        dtype=np.float64,
    )


def vocabulary(baskets: Sequence[ProductList], size: int) -> tuple[list[str], np.ndarray]:
    """The `size` products with the most buyers in `baskets` (ties by product id)
    and their buyer counts."""
    buyers: dict[str, int] = {}
    for basket in baskets:
        for product in set(basket):
            buyers[product] = buyers.get(product, 0) + 1
    ranked = sorted(buyers, key=lambda p: (-buyers[p], p))[: max(size, 0)]
    return ranked, np.array([buyers[p] for p in ranked], dtype=np.float64)


def _top_right_singular(weighted: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top k right singular vectors (columns) of `weighted` and the squared
    singular values, largest first. Lanczos (ARPACK, from a fixed start
    vector) on the sparse matrix when k is well below its rank bound: its cost
    follows the purchases, not the vocabulary; else the eigendecomposition of
    the dense Gram matrix."""
    if k < min(weighted.shape) - 1 and min(weighted.shape) > 50:
        from scipy.sparse.linalg import svds

        start = np.ones(min(weighted.shape)) / np.sqrt(min(weighted.shape))
        _, singular, vt = svds(weighted, k=k, v0=start, solver="arpack", tol=0)
        order = np.argsort(-singular, kind="stable")
        return vt[order].T, np.clip(singular[order], 0.0, None) ** 2
    gram = (weighted.T @ weighted).toarray()
    eigenvalues, eigenvectors = np.linalg.eigh(gram)  # ascending
    order = np.argsort(-eigenvalues, kind="stable")[:k]
    return eigenvectors[:, order], np.clip(eigenvalues[order], 0.0, None)


def fit_purchase_factors(
    baskets: Sequence[ProductList], *, n_products: int, n_components: int
) -> PurchaseFactors:
    """Fit the vocabulary, idf and `n_components` product factors on the sample's baskets.

    The factors are the top right singular vectors of the tf-idf matrix W
    (the eigenvectors of its Gram matrix WᵀW), largest first, each signed so
    that its largest loading is positive: the same baskets give the
    same factors (to the last bits a multi-threaded BLAS may round differently)."""
    products, buyers = vocabulary(baskets, n_products)
    if not products:
        raise ValueError("no purchases to fit product factors on")
    n = len(baskets)
    idf = np.log((1.0 + n) / (1.0 + buyers)) + 1.0
    weighted = _weighted_matrix(baskets, {p: j for j, p in enumerate(products)}, idf)
    k = max(1, min(n_components, len(products)))
    components, values = _top_right_singular(weighted, k)
    signs = np.sign(components[np.argmax(np.abs(components), axis=0), np.arange(k)])
    components = components * np.where(signs == 0, 1.0, signs)[None, :]
    total = float(weighted.multiply(weighted).sum())
    return PurchaseFactors(
        product_ids=tuple(products),
        idf=idf,
        components=components,
        singular_values=np.sqrt(values),
        explained_variance_ratio=min(1.0, float(values.sum() / total)) if total > 0 else 0.0,
    )
