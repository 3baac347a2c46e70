"""HDBSCAN behind the Clusterer port (fit on a sample, approximate prediction)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class _PredictionState:
    """What approximate prediction reads of a fitted hdbscan.HDBSCAN, as plain
    numpy arrays: the condensed tree as arrays indexed by node id for
    vectorised lookups, the sample points and their core distances.

    This, not the hdbscan object, is what a fitted model pickles to: loading
    a segment model then imports neither hdbscan nor scikit-learn (2.3 s of
    imports, paid by every run that labels customers and by every worker
    process)."""

    n_clusters: int
    min_samples: int
    sample_points: np.ndarray  # (n, d) float64, the points the tree was built on
    core_distances: np.ndarray  # (n,)
    tree_parent: np.ndarray  # condensed tree rows: parent, child, lambda_val
    tree_lambda: np.ndarray
    row_of_child: np.ndarray  # node id -> row of the condensed tree (0 if none)
    parent_of_cluster: np.ndarray  # cluster id -> parent cluster (-1 if none)
    lambda_of_cluster: np.ndarray  # cluster id -> lambda at which it split off
    label_of_cluster: np.ndarray  # cluster id -> selected label, or -1
    max_lambda_of_cluster: np.ndarray  # cluster id -> max lambda in the cluster
    tree_root: int

    @classmethod
    def of(cls, model: Any) -> _PredictionState:
        """The state of a fitted hdbscan.HDBSCAN (prediction_data=True)."""
        raw = model.condensed_tree_._raw_tree
        data = model.prediction_data_
        clusters = data.cluster_tree
        size = int(max(raw["parent"].max(), raw["child"].max())) + 1 if len(raw) else 1
        row_of_child = np.zeros(size, dtype=np.int64)
        # the first row naming a node as child wins (written last)
        rows = np.arange(len(raw), dtype=np.int64)[::-1]
        row_of_child[raw["child"][rows]] = rows
        parent = np.full(size, -1, dtype=np.int64)
        parent[clusters["child"]] = clusters["parent"]
        split_lambda = np.full(size, -np.inf)
        split_lambda[clusters["child"]] = clusters["lambda_val"]
        label = np.full(size, -1, dtype=np.int64)
        max_lambda = np.zeros(size)
        for cluster, value in data.cluster_map.items():
            label[int(cluster)] = int(value)
        for cluster, value in data.max_lambdas.items():
            if int(cluster) < size:
                max_lambda[int(cluster)] = float(value)
        labels = model.labels_
        return cls(
            n_clusters=int(labels.max()) + 1 if len(labels) else 0,
            min_samples=int(model.min_samples or model.min_cluster_size),
            sample_points=np.asarray(data.tree.data, dtype=np.float64),
            core_distances=np.asarray(data.core_distances, dtype=np.float64),
            tree_parent=np.asarray(raw["parent"], dtype=np.int64),
            tree_lambda=np.asarray(raw["lambda_val"], dtype=np.float64),
            row_of_child=row_of_child,
            parent_of_cluster=parent,
            lambda_of_cluster=split_lambda,
            label_of_cluster=label,
            max_lambda_of_cluster=max_lambda,
            tree_root=int(clusters["parent"].min()) if len(clusters) else 0,
        )


class _PredictionTables:
    """Unused: models pickled before _PredictionState carry one (a cached
    property of theirs), so unpickling them needs the name."""


class HdbscanFitted:
    """A fitted hdbscan.HDBSCAN with prediction data, and its approximate
    prediction. `model` is the hdbscan object right after a fit; a model
    loaded from its pickle has only the prediction state (`model` is None)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._state = _PredictionState.of(model)

    def __getstate__(self) -> dict[str, Any]:
        return {"state": self._state}

    def __setstate__(self, pickled: dict[str, Any]) -> None:
        if "state" in pickled:
            self.model = None
            self._state = pickled["state"]
        else:  # pickled before the prediction state: the hdbscan object, caches
            self.model = pickled["model"]
            self._state = _PredictionState.of(self.model)

    @property
    def n_clusters(self) -> int:
        return self._state.n_clusters

    @cached_property
    def _index(self) -> cKDTree:
        # leaves of 32 points: 26 us a query against 37 us with the default
        # 16 (k = 20, 8 dimensions, 50,000 sample points); labels and strengths
        # were identical for 200,000 customers of a 2M-customer warehouse
        return cKDTree(self._state.sample_points, leafsize=32)

    def _neighbours(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest sample points of each point: (distances, indices),
        nearest first, equal distances by sample index.

        scipy's cKDTree finds them (26 us a point against 41 us for the
        sklearn KDTree hdbscan keeps, 8 dimensions, 50,000 sample points,
        k = 20); the distances are then computed as that KDTree computes
        them (the squared differences summed dimension by dimension, then the
        square root), so they are the same floats, and hdbscan's rule gives
        the same labels and strengths (tests/unit/test_clustering.py). The
        order of equally distant sample points is made explicit (sample
        index), where the tree would leave it to its traversal. (Two threads
        of the query, `workers=2`, were slower than one: 120 against 82 us a
        point in batches of 256.)
        """
        sample_points = self._state.sample_points
        k = min(k, len(sample_points))
        _, indices = self._index.query(points, k=k)
        indices = np.asarray(indices, dtype=np.int64).reshape(len(points), k)
        neighbours = sample_points[indices]  # (n, k, d)
        squared = np.zeros(indices.shape, dtype=np.float64)
        for dim in range(points.shape[1]):
            difference = neighbours[:, :, dim] - points[:, None, dim]
            squared += difference * difference
        distances = np.sqrt(squared)
        order = np.lexsort((indices, distances), axis=-1)
        return (
            np.take_along_axis(distances, order, axis=-1),
            np.take_along_axis(indices, order, axis=-1),
        )

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HDBSCAN's approximate prediction, vectorised over the points.

        The same rule as hdbscan.approximate_predict (a test checks they
        agree point for point): a point joins the tree under its nearest
        neighbour by mutual reachability, at lambda = 1 / that distance, and
        climbs to the ancestor cluster still alive at that lambda; its label
        is that cluster's selected label (or noise) and its strength is
        lambda / the cluster's largest lambda. hdbscan walks the tree point by
        point in Python (160 us a point, 5 minutes for 2 million customers).
        """
        points = np.asarray(points, dtype=np.float64)
        n = len(points)
        if self.n_clusters == 0 or n == 0:
            return np.full(n, -1, dtype=np.int64), np.zeros(n)
        state = self._state
        min_samples = state.min_samples
        distances, neighbours = self._neighbours(points, 2 * min_samples)
        reachability = np.maximum(
            np.maximum(state.core_distances[neighbours], distances[:, [min_samples]]), distances
        )
        at = reachability.argmin(axis=1)  # the first of equal distances, as hdbscan
        every = np.arange(n)
        nearest = neighbours[every, at]
        closest = reachability[every, at]
        with np.errstate(divide="ignore"):
            lambdas = np.where(closest > 0.0, 1.0 / closest, np.finfo(np.float64).max)

        row = state.row_of_child[nearest]
        cluster = state.tree_parent[row]
        # climb while the point's lambda is below where the cluster split off
        climbing = np.flatnonzero(state.tree_lambda[row] > lambdas)
        while climbing.size:
            current = cluster[climbing]
            moves = (current > state.tree_root) & (
                state.lambda_of_cluster[current] >= lambdas[climbing]
            )
            climbing = climbing[moves]
            cluster[climbing] = state.parent_of_cluster[cluster[climbing]]

        labels = state.label_of_cluster[cluster]
        top = state.max_lambda_of_cluster[cluster]
        strengths = np.where(
            labels >= 0,
            np.where(top > 0.0, np.minimum(top, lambdas) / np.where(top > 0.0, top, 1.0), 1.0),
            0.0,
        )
        return labels, strengths


class NearestCentroid:
    """The cluster whose centroid direction is nearest (largest cosine), for
    the customers HDBSCAN leaves as noise. A centroid is the mean of the
    cluster's sample points scaled to unit length. On Online Retail the
    nearest centroid partitions the customers more stably than the nearest
    clustered sample point (ARI of two refits 0.46 against 0.31, 16 factors;
    docs/quality.md)."""

    def __init__(self, points: np.ndarray, labels: np.ndarray) -> None:
        points = np.asarray(points, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.int64)
        self.labels = np.array(sorted({int(x) for x in labels.tolist() if x >= 0}), dtype=np.int64)
        width = points.shape[1] if points.ndim == 2 else 0
        centroids = np.zeros((len(self.labels), width))
        for i, label in enumerate(self.labels):
            centroids[i] = points[labels == label].mean(axis=0)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.centroids = centroids / np.where(norms > 0, norms, 1.0)

    def label_of(self, points: np.ndarray) -> np.ndarray:
        """The label of each point's nearest centroid (ties: lower label; -1 if none)."""
        points = np.asarray(points, dtype=np.float64)
        if len(self.labels) == 0 or len(points) == 0:
            return np.full(len(points), -1, dtype=np.int64)
        return self.labels[np.argmax(points @ self.centroids.T, axis=1)]


@dataclass(frozen=True)
class HdbscanClusterer:
    """HDBSCAN settings. min_samples stays small: its default (= min_cluster_size)
    makes the neighbour graph, and the fit, far more expensive. Leaf selection:
    on real customers the excess-of-mass tree keeps one or two broad clusters
    that change from one sample to the next; leaves are smaller and stable
    (Online Retail: ARI 0.70-0.79 between refits on different samples)."""

    SELECTION_METHODS = ("leaf", "eom")

    # the values come from holdfast.settings.SegmentSettings; no defaults here
    min_cluster_size: int
    min_samples: int
    cluster_selection_method: str

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
