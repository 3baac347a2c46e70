"""HDBSCAN behind the Clusterer port (fit on a sample, approximate_predict)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class HdbscanFitted:
    """A fitted hdbscan.HDBSCAN with prediction data."""

    model: object

    @property
    def n_clusters(self) -> int:
        labels = self.model.labels_
        return int(labels.max()) + 1 if len(labels) else 0

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import hdbscan

        if self.n_clusters == 0:
            return np.full(len(points), -1, dtype=np.int64), np.zeros(len(points))
        labels, strengths = hdbscan.approximate_predict(self.model, np.asarray(points))
        return np.asarray(labels, dtype=np.int64), np.asarray(strengths, dtype=np.float64)


@dataclass(frozen=True)
class HdbscanClusterer:
    """HDBSCAN settings. min_samples stays small: its default (= min_cluster_size)
    makes the neighbour graph, and the fit, far more expensive. Leaf selection:
    on real customers the excess-of-mass tree keeps one or two broad clusters
    that change from one sample to the next; leaves are smaller and stable
    (Online Retail: ARI 0.70-0.79 between refits on different samples)."""

    SELECTION_METHODS = ("leaf", "eom")

    min_cluster_size: int
    min_samples: int = 10
    cluster_selection_method: str = "leaf"

    def fit(self, points: np.ndarray) -> HdbscanFitted:
        import hdbscan

        model = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=min(self.min_samples, max(1, len(points) - 1)),
            cluster_selection_method=self.cluster_selection_method,
            prediction_data=True,
            core_dist_n_jobs=1,
        )
        model.fit(np.asarray(points, dtype=np.float64))
        return HdbscanFitted(model)
