"""The small interfaces the application layer is written against.

Infrastructure provides the real ones (sentence-transformers, HDBSCAN); unit
tests provide fakes. A faster encoder (ONNX int8, a remote API) or another
clusterer drops in by implementing these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class TextEncoder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    @property
    def version(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class FittedClusterer(Protocol):
    """A clustering fitted on a sample that can label new points."""

    @property
    def n_clusters(self) -> int: ...

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels, membership strengths); label -1 is noise."""
        ...


class Clusterer(Protocol):
    """Fits a FittedClusterer on a sample of reduced vectors."""

    def fit(self, points: np.ndarray) -> FittedClusterer: ...
