"""Fakes of the ports the inference steps use (encoder, clusterer), shared by the unit tests,
and helpers to read what a step wrote.

The fakes are deterministic and load no model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa

DIM = 8


def fake_vector(text: str, dimension: int = DIM) -> np.ndarray:
    """A unit float32 vector derived from sha256(text): same text, same vector."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = np.frombuffer(digest, dtype=np.uint8)[:dimension].astype(np.float64) - 127.5
    return (raw / np.linalg.norm(raw)).astype(np.float32)


class FakeEncoder:
    """TextEncoder fake: hash-derived vectors; raises for chosen texts or the first N calls."""

    def __init__(
        self,
        *,
        dimension: int = DIM,
        fail_texts: Iterable[str] = (),
        fail_first_calls: int = 0,
        version: str = "fake-encoder-1",
    ) -> None:
        self._dimension = dimension
        self._version = version
        self.fail_texts = set(fail_texts)
        self.fail_first_calls = fail_first_calls
        self.calls: list[list[str]] = []

    @property
    def version(self) -> str:
        return self._version

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if len(self.calls) <= self.fail_first_calls:
            raise TimeoutError("encoder busy")
        for text in texts:
            if text in self.fail_texts:
                raise RuntimeError(f"cannot encode {text!r}")
        return np.stack([fake_vector(t, self._dimension) for t in texts])


class FakeFitted:
    """FittedClusterer fake: nearest centroid within `radius`, else noise.

    Strength is 1 - distance / radius, so it can be recomputed independently.
    """

    def __init__(self, centroids: dict[int, np.ndarray], radius: float) -> None:
        self.centroids = centroids
        self.radius = radius

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels, strengths = [], []
        for point in points:
            label, distance = min(
                ((lab, float(np.linalg.norm(point - c))) for lab, c in self.centroids.items()),
                key=lambda pair: pair[1],
            )
            if distance > self.radius:
                labels.append(-1)
                strengths.append(0.0)
            else:
                labels.append(label)
                strengths.append(1.0 - distance / self.radius)
        return np.array(labels), np.array(strengths)


class FakeClusterer:
    """Clusterer fake: 'finds' the clusters it is told (raw labels per sample point)."""

    def __init__(self, raw_labels: Sequence[int], radius: float = 0.5) -> None:
        self.raw_labels = np.asarray(raw_labels)
        self.radius = radius
        self.fitted_on: np.ndarray | None = None

    def fit(self, points: np.ndarray) -> FakeFitted:
        assert len(points) == len(self.raw_labels)
        self.fitted_on = points
        centroids = {
            int(label): points[self.raw_labels == label].mean(axis=0)
            for label in set(self.raw_labels.tolist())
            if label >= 0
        }
        return FakeFitted(centroids, self.radius)


class FixedFitted:
    """FittedClusterer fake that returns preset labels and strengths."""

    def __init__(self, labels: Sequence[int], strengths: Sequence[float]) -> None:
        self.labels = np.asarray(labels)
        self.strengths = np.asarray(strengths, dtype=np.float64)

    @property
    def n_clusters(self) -> int:
        return len(set(self.labels.tolist()) - {-1})

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert len(points) == len(self.labels)
        return self.labels, self.strengths


def table_of(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    batches = list(batches)
    assert batches, "the step yielded nothing"
    return pa.Table.from_batches(batches)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def without_latency(table: pa.Table) -> pa.Table:
    """The rows a step wrote, less the measured call latency (differs run to run)."""
    return table.drop_columns(["batch_latency_ms"])
