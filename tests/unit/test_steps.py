"""The inference steps with fake ports: embed, vectorize, segment, recommend.

The encoder and the clusterer are fakes (deterministic, no model is loaded). The
steps call the real time.sleep between retries, so every policy here has zero backoff.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import fields

import numpy as np
import pyarrow as pa
import pytest

from holdfast.application import customer_vectors, embedding, recommend, segments
from holdfast.application.faults import StepFaults
from holdfast.application.records import STATUS_FAILED, STATUS_OK, vectors_to_array
from holdfast.application.resilience import (
    REASON_PERMANENT,
    REASON_RETRIES_EXHAUSTED,
    PermanentError,
    RetryPolicy,
)
from holdfast.domain.reduction import Projection
from holdfast.domain.scoring import ScoringWeights, blend_confidence
from holdfast.domain.segmentation import NOISE_SEGMENT_ID
from holdfast.infrastructure.model_store import dump_model, load_model

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


# embed_products ------------------------------------------------------------------------------


def product_batch(rows: Sequence[tuple[str, str | None, int]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "product_id": [r[0] for r in rows],
            "product_text": pa.array([r[1] for r in rows], pa.string()),
            "text_hash": [f"hash-{r[0]}" for r in rows],
            "previous_failed_runs": pa.array([r[2] for r in rows], pa.int32()),
        }
    )


def embed(batches, encoder, run_context, policy, batch_size=2) -> pa.Table:
    return table_of(
        embedding.embed_products(
            batches, encoder, run=run_context, policy=policy, batch_size=batch_size
        )
    )


def test_embed_products_writes_one_row_per_product_with_its_embedding(run_context, fast_policy):
    first = [("p1", "red mug", 0), ("p2", "blue plate", 3), ("p3", "green bowl", 0)]
    second = [("p4", "tea towel", 1), ("p5", "lamp", 0)]
    encoder = FakeEncoder()
    out = embed([product_batch(first), product_batch(second)], encoder, run_context, fast_policy)
    rows = first + second
    assert out.schema == embedding.output_schema(DIM)
    assert out.column("product_id").to_pylist() == [r[0] for r in rows]
    assert out.column("text_hash").to_pylist() == [f"hash-{r[0]}" for r in rows]
    for got, (_, text, _) in zip(out.column("embedding").to_pylist(), rows, strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), fake_vector(text))
    assert set(out.column("embedding_model_version").to_pylist()) == {"fake-encoder-1"}
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert out.column("failed_runs").to_pylist() == [0] * 5
    assert set(out.column("run_id").to_pylist()) == {"run-test"}


def test_embed_products_fails_empty_texts_permanently_with_null_embedding(run_context, fast_policy):
    rows = [("p1", "mug", 0), ("p2", "", 0), ("p3", "   ", 2), ("p4", None, 0), ("p5", "jug", 0)]
    out = embed([product_batch(rows)], FakeEncoder(), run_context, fast_policy, batch_size=5)
    assert out.num_rows == 5
    assert out.column("status").to_pylist() == [
        STATUS_OK,
        STATUS_FAILED,
        STATUS_FAILED,
        STATUS_FAILED,
        STATUS_OK,
    ]
    embeddings = out.column("embedding").to_pylist()
    assert [e is None for e in embeddings] == [False, True, True, True, False]
    assert out.column("failure_reason").to_pylist() == [None] + [REASON_PERMANENT] * 3 + [None]
    errors = out.column("error_message").to_pylist()
    assert all("empty product text" in e for e in errors[1:4])
    assert out.column("failed_runs").to_pylist() == [0, 1, 3, 1, 0]
    np.testing.assert_array_equal(np.array(embeddings[4], np.float32), fake_vector("jug"))


def test_embed_products_dead_letters_a_text_the_encoder_keeps_rejecting(run_context):
    policy = RetryPolicy(max_retries=2, initial_backoff_seconds=0.0, jitter_seconds=0.0)
    encoder = FakeEncoder(fail_texts={"cursed vase"})
    rows = [("p1", "mug", 0), ("p2", "cursed vase", 4), ("p3", "jug", 0)]
    out = embed([product_batch(rows)], encoder, run_context, policy, batch_size=3)
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert out.column("failure_reason").to_pylist() == [None, REASON_RETRIES_EXHAUSTED, None]
    error = out.column("error_message").to_pylist()[1]
    assert "RuntimeError" in error and "cursed vase" in error
    assert out.column("embedding").to_pylist()[1] is None
    assert out.column("failed_runs").to_pylist() == [0, 5, 0]
    # batch: 3 attempts, then the rejected record alone: 3 more
    assert out.column("attempts").to_pylist()[1] == 6
    assert out.column("batch_attempts").to_pylist() == [3, 3, 3]


def test_embed_products_recovers_from_a_transient_encoder_failure(run_context, fast_policy):
    encoder = FakeEncoder(fail_first_calls=1)
    rows = [("p1", "mug", 0), ("p2", "jug", 0)]
    out = embed([product_batch(rows)], encoder, run_context, fast_policy, batch_size=10)
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert out.column("batch_attempts").to_pylist() == [2, 2]
    assert len(encoder.calls) == 2


def test_embed_products_continues_batch_numbers_across_input_record_batches(
    run_context, fast_policy
):
    first = [(f"a{i}", f"text a{i}", 0) for i in range(5)]
    second = [(f"b{i}", f"text b{i}", 0) for i in range(3)]
    outputs = list(
        embedding.embed_products(
            [product_batch(first), product_batch([]), product_batch(second)],
            FakeEncoder(),
            run=run_context,
            policy=fast_policy,
            batch_size=2,
        )
    )
    assert [b.num_rows for b in outputs] == [5, 3]  # the empty batch yields nothing
    numbers = pa.Table.from_batches(outputs).column("inference_batch_number").to_pylist()
    assert numbers == [1, 1, 2, 2, 3, 4, 4, 5]


# build_customer_vectors ----------------------------------------------------------------------

PRODUCT_VECTORS = np.stack([unit(v) for v in np.random.default_rng(11).normal(size=(5, 6))]).astype(
    np.float32
)
PRODUCT_INDEX = {f"p{i}": i for i in range(5)}


def profile_batch(rows) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "product_ids": pa.array([r[1] for r in rows], pa.list_(pa.string())),
            "weights": pa.array([r[2] for r in rows], pa.list_(pa.float64())),
            "profile_fingerprint": [f"fp-{r[0]}" for r in rows],
            "previous_failed_runs": pa.array([r[3] for r in rows], pa.int32()),
        }
    )


def vectorize(batches, run_context, policy, batch_size=10) -> pa.Table:
    return table_of(
        customer_vectors.build_customer_vectors(
            batches,
            PRODUCT_INDEX,
            PRODUCT_VECTORS,
            embedding_model_version="fake-encoder-1",
            run=run_context,
            policy=policy,
            batch_size=batch_size,
        )
    )


def test_customer_vector_is_the_normalized_weighted_mean_of_known_products(
    run_context, fast_policy
):
    rows = [
        ("c1", ["p0", "p2"], [2.0, 1.0], 0),
        ("c2", ["p1", "unknown", "p3"], [1.0, 10.0, 3.0], 2),
        ("c3", ["p4"], [7.0], 0),
    ]
    out = vectorize([profile_batch(rows)], run_context, fast_policy)
    pv = PRODUCT_VECTORS.astype(np.float64)
    expected = [unit(2 * pv[0] + pv[2]), unit(pv[1] + 3 * pv[3]), pv[4]]
    got = out.column("vector").to_pylist()
    for vector, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(vector, reference, atol=1e-6)
        assert math.isclose(float(np.linalg.norm(vector)), 1.0, abs_tol=1e-5)
    assert out.column("n_products_used").to_pylist() == [2, 2, 1]
    assert out.column("has_vector").to_pylist() == [True, True, True]
    assert out.column("profile_fingerprint").to_pylist() == ["fp-c1", "fp-c2", "fp-c3"]
    assert set(out.column("embedding_model_version").to_pylist()) == {"fake-encoder-1"}
    assert out.column("failed_runs").to_pylist() == [0, 0, 0]
    assert out.schema == customer_vectors.output_schema(6)


def test_customer_with_no_known_product_gets_no_vector_and_is_not_a_failure(
    run_context, fast_policy
):
    rows = [
        ("c1", ["unknown-a", "unknown-b"], [1.0, 2.0], 0),
        ("c2", None, None, 0),
        ("c3", [], [], 0),
        ("c4", ["p1"], [1.0], 0),
    ]
    out = vectorize([profile_batch(rows)], run_context, fast_policy)
    assert out.column("has_vector").to_pylist() == [False, False, False, True]
    assert out.column("vector").to_pylist()[:3] == [None, None, None]
    assert out.column("n_products_used").to_pylist() == [0, 0, 0, 1]
    assert set(out.column("status").to_pylist()) == {STATUS_OK}


def test_customer_with_mismatched_weights_fails_alone(run_context, fast_policy):
    rows = [
        ("c1", ["p0"], [1.0], 0),
        ("c2", ["p0", "p1"], [1.0], 1),
        ("c3", ["p2"], [1.0], 0),
    ]
    out = vectorize([profile_batch(rows)], run_context, fast_policy)
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert out.column("has_vector").to_pylist() == [True, False, True]
    assert out.column("vector").to_pylist()[1] is None
    assert out.column("error_message").to_pylist()[1]
    assert out.column("failed_runs").to_pylist() == [0, 2, 0]
    np.testing.assert_allclose(out.column("vector").to_pylist()[2], PRODUCT_VECTORS[2], atol=1e-6)


def test_customer_vectors_continue_batch_numbers_across_input_record_batches(
    run_context, fast_policy
):
    first = [(f"a{i}", ["p0"], [1.0], 0) for i in range(3)]
    second = [(f"b{i}", ["p1"], [1.0], 0) for i in range(4)]
    out = vectorize([profile_batch(first), profile_batch(second)], run_context, fast_policy, 2)
    assert out.column("inference_batch_number").to_pylist() == [1, 1, 2, 3, 3, 4, 4]


# fit_segment_model + assign_segments ---------------------------------------------------------

SEG_DIM = 5
_rng = np.random.default_rng(5)


def near(axis: int, n: int, rng=_rng) -> np.ndarray:
    """n unit vectors close to the basis vector `axis`."""
    center = np.eye(SEG_DIM)[axis]
    return np.stack([unit(center + rng.normal(scale=0.03, size=SEG_DIM)) for _ in range(n)])


# Clusters told to the fake: raw label 7 (4 points), 3 (9 points), 5 (6 points), 2 noise.
SAMPLE = np.concatenate([near(0, 4), near(1, 9), near(2, 6), near(3, 1), near(4, 1)])
RAW_LABELS = [7] * 4 + [3] * 9 + [5] * 6 + [-1, -1]
SAMPLE_IDS = [f"s{i:02d}" for i in range(len(SAMPLE))]
PARAMS = {"min_cluster_size": 3, "n_components": SEG_DIM}


def fit_model(**kw) -> segments.SegmentModel:
    args = {
        "n_components": SEG_DIM,
        "population": 1234,
        "params": PARAMS,
        "fit_reason": "no segment model yet",
    }
    return segments.fit_segment_model(
        SAMPLE_IDS, SAMPLE.astype(np.float32), FakeClusterer(RAW_LABELS), **{**args, **kw}
    )


def test_fit_segment_model_orders_segment_ids_by_cluster_size():
    model = fit_model()
    assert model.segment_of_label == {3: 0, 5: 1, 7: 2}
    assert model.n_segments == 3
    assert model.noise_share == pytest.approx(2 / 21)
    assert model.n_sample == 21
    assert model.population_at_fit == 1234
    assert model.fit_reason == "no segment model yet"


def test_fit_segment_model_breaks_size_ties_by_lower_label():
    sample = np.concatenate([near(0, 5), near(1, 7), near(2, 5)])
    labels = [9] * 5 + [4] * 7 + [2] * 5
    model = segments.fit_segment_model(
        [f"t{i}" for i in range(17)],
        sample,
        FakeClusterer(labels),
        n_components=SEG_DIM,
        population=17,
        params={},
        fit_reason="test",
    )
    assert model.segment_of_label == {4: 0, 2: 1, 9: 2}


def test_fit_segment_model_clusters_in_the_reduced_space():
    clusterer = FakeClusterer(RAW_LABELS)
    segments.fit_segment_model(
        SAMPLE_IDS, SAMPLE, clusterer, n_components=2, population=21, params={}, fit_reason="x"
    )
    assert clusterer.fitted_on.shape == (21, 2)


def test_fit_segment_model_id_is_content_derived_and_params_are_copied():
    params = dict(PARAMS)
    model = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE,
        FakeClusterer(RAW_LABELS),
        n_components=SEG_DIM,
        population=21,
        params=params,
        fit_reason="x",
    )
    assert model.segment_model_id == segments.model_id_for(SAMPLE_IDS, SAMPLE, PARAMS)
    params["min_cluster_size"] = 99
    assert model.params == PARAMS


def test_a_refit_reuses_the_previous_models_segment_ids():
    first = fit_model()
    assert first.next_segment_id == 3
    # the same customers, clustered again with other raw labels: 7 -> 1, 3 -> 8, 5 -> 4
    relabelled = [1] * 4 + [8] * 9 + [4] * 6 + [-1, -1]
    refit = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE.astype(np.float32),
        FakeClusterer(relabelled),
        n_components=SEG_DIM,
        population=1300,
        params=PARAMS,
        fit_reason="refit requested",
        previous=first,
    )
    assert refit.segment_of_label == {8: 0, 4: 1, 1: 2}
    assert refit.matched_from == first.segment_model_id
    assert refit.next_segment_id == 3


def test_fit_segment_model_can_cluster_unit_length_reduced_vectors():
    clusterer = FakeClusterer(RAW_LABELS)
    model = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE,
        clusterer,
        n_components=2,
        population=21,
        params={},
        fit_reason="x",
        normalise=True,
    )
    np.testing.assert_allclose(np.linalg.norm(clusterer.fitted_on, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(model.reduce(SAMPLE[:3]), axis=1), 1.0)


def test_model_id_for_depends_on_sample_and_params_but_not_on_params_key_order():
    v = np.array([[0.6, 0.8], [1.0, 0.0]])
    base = segments.model_id_for(["a", "b"], v, {"x": 1, "y": 2})
    assert base == segments.model_id_for(["a", "b"], v, {"y": 2, "x": 1})
    assert base.startswith("seg-") and len(base) == len("seg-") + 16
    assert base != segments.model_id_for(["b", "a"], v, {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b", "c"], np.vstack([v, v[:1]]), {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b"], v, {"x": 1, "y": 3})
    one = np.zeros((1, 2))
    assert segments.model_id_for(["ab"], one, {}) != segments.model_id_for(["a", "b"], v, {})


def test_model_id_for_changes_with_the_vectors_not_with_float_noise():
    """The same customers with other purchases (other vectors) are another
    model; a difference far below the clusterer's resolution is not."""
    ids = ["a", "b"]
    v = np.array([[0.6, 0.8], [1.0, 0.0]])
    base = segments.model_id_for(ids, v, {})
    assert segments.model_id_for(ids, v + 1e-9, {}) == base
    assert segments.model_id_for(ids, v.astype(np.float32), {}) == base
    moved = v.copy()
    moved[1] = [0.8, 0.6]
    assert segments.model_id_for(ids, moved, {}) != base


def test_segment_model_assign_maps_labels_clips_strengths_and_zeroes_noise():
    model = segments.SegmentModel(
        segment_model_id="seg-test",
        projection=Projection(np.zeros(2), np.eye(2), np.array([0.5, 0.5])),
        clusterer=FixedFitted([4, 1, -1, 8], [0.7, 1.5, 0.9, -0.2]),
        segment_of_label={1: 0, 4: 1},
        population_at_fit=4,
        n_sample=4,
        noise_share=0.25,
        fit_reason="test",
    )
    ids, strengths = model.assign(np.ones((4, 2)))
    assert ids.tolist() == [1, 0, NOISE_SEGMENT_ID, NOISE_SEGMENT_ID]
    assert strengths.tolist() == [0.7, 1.0, 0.0, 0.0]
    empty_ids, empty_strengths = model.assign(np.zeros((0, 2)))
    assert empty_ids.shape == (0,) and empty_strengths.shape == (0,)


def assign_batch(rows) -> pa.RecordBatch:
    """rows: (customer_id, vector or None, has_vector, previous_failed_runs)."""
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "profile_fingerprint": [f"fp-{r[0]}" for r in rows],
            "vector": vectors_to_array([r[1] for r in rows], SEG_DIM),
            "has_vector": pa.array([r[2] for r in rows], pa.bool_()),
            "previous_failed_runs": pa.array([r[3] for r in rows], pa.int32()),
        }
    )


def assign(batches, model, run_context, policy, batch_size=10) -> pa.Table:
    return table_of(
        segments.assign_segments(
            batches,
            model,
            dimension=SEG_DIM,
            run=run_context,
            policy=policy,
            batch_size=batch_size,
        )
    )


def test_assign_segments_labels_customers_by_cluster_and_noise_gets_strength_zero(
    run_context, fast_policy
):
    model = fit_model()
    rng = np.random.default_rng(77)
    a, b, c, d = near(1, 1, rng)[0], near(0, 1, rng)[0], near(2, 1, rng)[0], near(3, 1, rng)[0]
    rows = [
        ("a", a, True, 0),
        ("b", b, True, 0),
        ("c", c, True, 1),
        ("d", d, True, 0),
        ("e", None, False, 0),
        ("f", near(1, 1, rng)[0], False, 0),  # has_vector false wins over a stray vector
        ("g", None, True, 0),
    ]
    out = assign([assign_batch(rows)], model, run_context, fast_policy)
    assert out.schema == segments.assignment_schema()
    assert out.column("segment_id").to_pylist() == [0, 2, 1, -1, -1, -1, -1]
    assert out.column("is_noise").to_pylist() == [False, False, False, True, True, True, True]
    strengths = out.column("membership_strength").to_pylist()
    assert strengths[3:] == [0.0, 0.0, 0.0, 0.0]
    # Full-rank PCA is a rotation: distances to the cluster centroid are preserved.
    group = {0: SAMPLE[4:13], 2: SAMPLE[0:4], 1: SAMPLE[13:19]}
    for strength, point, segment in zip(strengths[:3], [a, b, c], [0, 2, 1], strict=True):
        distance = float(np.linalg.norm(point - group[segment].mean(axis=0)))
        assert strength == pytest.approx(1 - distance / 0.5, abs=2e-6)
        assert 0.0 < strength <= 1.0
    assert set(out.column("segment_model_id").to_pylist()) == {model.segment_model_id}
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert out.column("failed_runs").to_pylist() == [0] * 7


def test_assign_segments_without_a_model_makes_everyone_noise(run_context, fast_policy):
    rows = [("a", SAMPLE[0], True, 0), ("b", None, False, 3)]
    out = assign([assign_batch(rows)], None, run_context, fast_policy)
    assert out.column("segment_model_id").to_pylist() == ["none", "none"]
    assert out.column("segment_id").to_pylist() == [-1, -1]
    assert out.column("membership_strength").to_pylist() == [0.0, 0.0]
    assert out.column("is_noise").to_pylist() == [True, True]
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_OK]
    assert out.column("failed_runs").to_pylist() == [0, 0]


def test_assign_segments_gives_the_same_labels_in_any_batch_shape(run_context, fast_policy):
    model = fit_model()
    rng = np.random.default_rng(3)
    vectors = np.concatenate([near(i % SEG_DIM, 1, rng) for i in range(13)])
    rows = [(f"c{i}", v, True, 0) for i, v in enumerate(vectors)]
    whole = assign([assign_batch(rows)], model, run_context, fast_policy, batch_size=100)
    split = assign(
        [assign_batch(rows[:4]), assign_batch(rows[4:5]), assign_batch(rows[5:])],
        model,
        run_context,
        fast_policy,
        batch_size=3,
    )
    for name in ("customer_id", "segment_id", "membership_strength", "is_noise"):
        assert whole.column(name).to_pylist() == split.column(name).to_pylist()
    assert split.column("inference_batch_number").to_pylist() == [
        1, 1, 1, 2, 3, 4, 4, 4, 5, 5, 5, 6, 6
    ]  # fmt: skip


# fit_recommender + score_customers -----------------------------------------------------------

# A hand-made catalog (given out of id order). Texts are one-hot except: "p-n" (never bought)
# is about the same thing as "p-a"; "p-e" and "p-f" share a little; "p-x" has no embedding
# (its vector, a copy of p-a's, must be ignored). "p-h" and "p-i" are twins: same counts,
# same buyers, so they tie on every signal.
REC_DIM = 12


def _axis(*parts: tuple[int, float]) -> np.ndarray:
    v = np.zeros(REC_DIM)
    for axis, weight in parts:
        v[axis] = weight
    return unit(v).astype(np.float32)


REC_IDS = ["p-g", "p-n", "p-i", "p-b", "p-x", "p-d", "p-a", "p-h", "p-f", "p-j", "p-c", "p-e"]
REC_EMB = {
    "p-a": _axis((0, 1.0)),
    "p-b": _axis((1, 1.0)),
    "p-c": _axis((2, 1.0)),
    "p-d": _axis((3, 1.0)),
    "p-e": _axis((4, 1.0), (8, 0.5)),
    "p-f": _axis((5, 1.0), (8, 0.5)),
    "p-g": _axis((6, 1.0)),
    "p-n": _axis((0, 3.0), (7, 1.0)),
    "p-x": _axis((0, 1.0)),
    "p-h": _axis((9, 1.0)),
    "p-i": _axis((10, 1.0)),
    "p-j": _axis((11, 1.0)),
}
REC_HAS_EMB = {p: p != "p-x" for p in REC_IDS}
REC_COUNT = {
    "p-a": 10, "p-b": 8, "p-c": 4, "p-d": 50, "p-e": 3, "p-f": 3, "p-g": 2, "p-n": 0, "p-x": 1,
    "p-h": 5, "p-i": 5, "p-j": 6,
}  # fmt: skip
REC_SPEND = {
    "p-a": 12.5, "p-b": 7.25, "p-c": 30.0, "p-d": 3.99, "p-e": 45.0, "p-f": 18.0, "p-g": 9.5,
    "p-n": 60.0, "p-x": 11.0, "p-h": 20.0, "p-i": 21.0, "p-j": 5.0,
}  # fmt: skip
# the customers the recommender is fitted on: (history, segment)
REC_SAMPLE = (
    [(["p-a", "p-b"], 0)] * 6
    + [(["p-c", "p-d"], 1)] * 2
    + [(["p-d"], 1)] * 5
    + [(["p-e", "p-f"], None)] * 2
    + [(["p-g", "p-d", "gone-product"], 1)]
    + [(["p-a", "p-e"], NOISE_SEGMENT_ID)]
    + [(None, 0)]
    + [(["p-a"], 2)]  # a segment that bought fewer products than the pool size
    + [(["p-h", "p-i", "p-j"], 3)] * 2
)
REC_SEGMENTS = {s for _, s in REC_SAMPLE if s is not None and s != NOISE_SEGMENT_ID}
REC_SETTINGS = recommend.FitSettings(copurchase_neighbours=5, semantic_neighbours=3, pool_size=2)
REC_WEIGHTS = ScoringWeights(0.5, 0.2, 0.15, 0.15)


def fit(ids=REC_IDS, **changes) -> recommend.RecommenderModel:
    """fit_recommender on the hand-made catalog, with any input replaced."""
    inputs = {
        "embeddings": np.stack([REC_EMB[p] for p in ids]),
        "has_embedding": np.array([REC_HAS_EMB[p] for p in ids]),
        "purchase_counts": [REC_COUNT[p] for p in ids],
        "typical_spend": [REC_SPEND[p] for p in ids],
        "sample_histories": [h for h, _ in REC_SAMPLE],
        "sample_segments": [s for _, s in REC_SAMPLE],
        "settings": REC_SETTINGS,
    }
    inputs.update(changes)
    return recommend.fit_recommender(list(ids), **inputs)


def group_of(segment):
    """The affinity group of a customer's segment: None (everyone) for noise, missing
    and unknown segments."""
    return segment if segment in REC_SEGMENTS else None


def sample_group(segment) -> list[list[str]]:
    """The sample histories a segment's affinity counts: its own customers, or everyone
    for noise, missing and unknown segments."""
    if group_of(segment) is None:
        return [h or [] for h, _ in REC_SAMPLE]
    return [h or [] for h, s in REC_SAMPLE if s == segment]


def ref_affinity(segment, product: str) -> float:
    """Share of the group's customers who bought the product, relative to its best seller."""
    histories = sample_group(segment)
    buyers = {p: sum(p in set(h) for h in histories) for p in REC_IDS}
    return buyers[product] / max(buyers.values())


def ref_popularity(product: str) -> float:
    return math.log1p(REC_COUNT[product]) / math.log1p(max(REC_COUNT.values()))


def ref_pool(segment) -> set[str]:
    """The segment's pool: its best products by affinity, plus the most popular overall."""
    size = REC_SETTINGS.pool_size
    by_affinity = sorted(REC_IDS, key=lambda p: (-ref_affinity(segment, p), p))
    by_popularity = sorted(REC_IDS, key=lambda p: (-REC_COUNT[p], p))
    return {p for p in by_affinity[:size] if ref_affinity(segment, p) > 0} | set(
        by_popularity[:size]
    )


def buyers_of(product: str) -> set[int]:
    return {i for i, (h, _) in enumerate(REC_SAMPLE) if product in (h or [])}


def rec_batch(rows, previous_failed_runs=None) -> pa.RecordBatch:
    """rows: (customer_id, segment_id, purchased ids or None)."""
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "scoring_fingerprint": [f"sf-{r[0]}" for r in rows],
            "segment_id": pa.array([r[1] for r in rows], pa.int32()),
            "segment_model_id": ["seg-abc"] * len(rows),
            "purchased_product_ids": pa.array([r[2] for r in rows], pa.list_(pa.string())),
            "previous_failed_runs": pa.array(previous_failed_runs or [0] * len(rows), pa.int32()),
        }
    )


def random_rec_customers(seed: int, n: int):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        bought = [p for p in sorted(REC_IDS) if rng.random() < 0.25]
        if i % 4 == 0:
            bought.append("gone-product")
        segment = [0, 1, NOISE_SEGMENT_ID, None, 42][i % 5]
        rows.append((f"c{i:02d}", segment, bought if i % 9 != 8 else None))
    return rows


def recommend_table(batches, run_context, policy, *, model=None, k=4, batch_size=64) -> pa.Table:
    return table_of(
        recommend.score_customers(
            batches,
            model or fit(),
            k=k,
            weights=REC_WEIGHTS,
            recommender_version="rec-v1",
            run=run_context,
            policy=policy,
            batch_size=batch_size,
        )
    )


def candidates_of(table: pa.Table) -> dict[str, list[dict]]:
    return dict(
        zip(
            table.column("customer_id").to_pylist(),
            table.column("candidates").to_pylist(),
            strict=True,
        )
    )


def test_fit_recommender_orders_products_by_id_and_keeps_their_attributes_aligned():
    model = fit()
    assert model.product_ids == sorted(REC_IDS)
    assert model.index == {p: i for i, p in enumerate(sorted(REC_IDS))}
    assert model.n_sample == len(REC_SAMPLE)
    assert model.settings == REC_SETTINGS.as_dict()
    for i, p in enumerate(model.product_ids):
        assert model.typical_spend[i] == REC_SPEND[p]
        assert model.popularity[i] == pytest.approx(ref_popularity(p), abs=1e-6)
        for segment in (None, *REC_SEGMENTS):
            row = model.segment_row[NOISE_SEGMENT_ID if segment is None else segment]
            assert model.affinity[row, i] == pytest.approx(ref_affinity(segment, p), abs=1e-6)


def test_fit_recommender_gives_the_same_model_for_any_input_order():
    model = fit()
    reordered = fit(ids=sorted(REC_IDS, reverse=True))
    assert reordered.model_id == model.model_id
    assert reordered.product_ids == model.product_ids
    np.testing.assert_array_equal(reordered.typical_spend, model.typical_spend)
    assert (reordered.copurchase != model.copurchase).nnz == 0
    assert (reordered.semantic != model.semantic).nnz == 0


def test_fit_recommender_copurchase_lists_are_buyer_set_cosines_of_the_sample():
    model = fit()
    index = model.index
    copurchase = model.copurchase.toarray()
    for p in REC_IDS:
        for q in REC_IDS:
            together = len(buyers_of(p) & buyers_of(q))
            if p == q or not together:
                assert copurchase[index[p], index[q]] == 0.0, (p, q)
            else:
                expected = together / math.sqrt(len(buyers_of(p)) * len(buyers_of(q)))
                assert copurchase[index[p], index[q]] == pytest.approx(expected, abs=1e-6)


def test_fit_recommender_semantic_lists_are_clipped_cosines_between_embedded_products():
    model = fit()
    semantic = model.semantic.toarray()
    for p in REC_IDS:
        for q in REC_IDS:
            expected = 0.0
            if p != q and REC_HAS_EMB[p] and REC_HAS_EMB[q]:
                expected = max(0.0, float(REC_EMB[p].astype(np.float64) @ REC_EMB[q]))
            assert semantic[model.index[p], model.index[q]] == pytest.approx(expected, abs=1e-6)
    # p-x carries a copy of p-a's vector, but has no embedding: nobody's neighbour
    assert model.semantic[:, model.index["p-x"]].nnz == 0


def test_recommender_rows_for_noise_none_and_unknown_segments_are_the_population_row():
    model = fit()
    assert set(model.segment_row) == {NOISE_SEGMENT_ID, *REC_SEGMENTS}
    assert len(set(model.segment_row.values())) == len(model.segment_row)
    rows = model.rows_for_segments([0, NOISE_SEGMENT_ID, None, 42, 1, 2])
    population = model.segment_row[NOISE_SEGMENT_ID]
    assert rows.tolist() == [model.segment_row[0], population, population, population,
                             model.segment_row[1], model.segment_row[2]]  # fmt: skip


def test_copurchase_neighbours_drive_the_candidates_before_unrelated_popular_products(
    run_context, fast_policy
):
    out = recommend_table(
        [rec_batch([("buyer-of-a", None, ["p-a"]), ("seg0-buyer-of-a", 0, ["p-a"])])],
        run_context,
        fast_policy,
        k=10,
    )
    for candidates in candidates_of(out).values():
        chosen = [c["product_id"] for c in candidates]
        signals = {c["product_id"]: c for c in candidates}
        # p-b is what p-a's buyers bought; p-d is the best seller, never bought with p-a
        assert chosen[0] == "p-b"
        assert chosen.index("p-b") < chosen.index("p-d")
        assert signals["p-b"]["copurchase"] == 1.0
        assert signals["p-d"]["copurchase"] == 0.0
        assert signals["p-d"]["popularity"] > signals["p-b"]["popularity"]


def test_a_product_nobody_bought_is_recommended_through_its_semantic_neighbours(
    run_context, fast_policy
):
    model = fit()
    n = model.index["p-n"]
    assert REC_COUNT["p-n"] == 0 and not buyers_of("p-n")
    assert model.pools[:, n].nnz == 0  # not in any pool: only the text can bring it
    out = recommend_table(
        [rec_batch([("buyer-of-a", None, ["p-a"]), ("buys-nothing", None, [])])],
        run_context,
        fast_policy,
        model=model,
        k=20,
    )
    lists = candidates_of(out)
    new = [c for c in lists["buyer-of-a"] if c["product_id"] == "p-n"]
    assert len(new) == 1
    assert new[0]["copurchase"] == 0.0 and new[0]["popularity"] == 0.0
    assert new[0]["similarity"] == 1.0  # the only text neighbour of p-a, so the best
    assert new[0]["confidence"] > 0
    assert "p-n" not in {c["product_id"] for c in lists["buys-nothing"]}
    # a product without an embedding is never a text neighbour
    assert "p-x" not in {c["product_id"] for c in lists["buyer-of-a"]}


def test_already_bought_products_are_never_candidates(run_context, fast_policy):
    rows = [
        *random_rec_customers(seed=3, n=25),
        ("bought-a-and-b", 0, ["p-a", "p-b"]),  # each is the other's best neighbour
        ("bought-everything", 1, list(REC_IDS)),
    ]
    out = recommend_table([rec_batch(rows)], run_context, fast_policy, k=len(REC_IDS))
    lists = candidates_of(out)
    for customer_id, _, bought in rows:
        chosen = {c["product_id"] for c in lists[customer_id]}
        assert not chosen & set(bought or [])
    assert lists["bought-everything"] == []
    assert lists["bought-a-and-b"], "the pool still has products to offer"


def test_noise_missing_and_unknown_segments_score_with_the_population_row(run_context, fast_policy):
    history = ["p-c"]
    rows = [
        ("noise", NOISE_SEGMENT_ID, history),
        ("none", None, history),
        ("unknown", 42, history),
        ("seg0", 0, history),
        ("seg1", 1, history),
    ]
    out = recommend_table([rec_batch(rows)], run_context, fast_policy, k=20)
    lists = candidates_of(out)
    assert lists["noise"] == lists["none"] == lists["unknown"]
    assert lists["seg0"] != lists["noise"]
    for customer_id, segment, _ in rows:
        group = group_of(segment)
        assert {c["product_id"] for c in lists[customer_id]} >= ref_pool(group) - set(history)
        for c in lists[customer_id]:
            expected = ref_affinity(group, c["product_id"])
            assert c["segment_affinity"] == pytest.approx(expected, abs=1e-6)


def test_confidence_is_the_blend_of_the_reported_signals_and_value_is_confidence_x_spend(
    run_context, fast_policy
):
    rows = random_rec_customers(seed=5, n=40)
    out = recommend_table([rec_batch(rows)], run_context, fast_policy, k=6)
    segments = dict(zip((r[0] for r in rows), (r[1] for r in rows), strict=True))
    checked = 0
    for customer_id, candidates in candidates_of(out).items():
        segment = segments[customer_id]
        group = group_of(segment)
        for c in candidates:
            signals = [c["copurchase"], c["similarity"], c["segment_affinity"], c["popularity"]]
            assert all(0.0 <= s <= 1.0 for s in signals)
            blended = blend_confidence(*(np.array([s]) for s in signals), REC_WEIGHTS)[0]
            assert c["confidence"] == pytest.approx(blended, abs=1.5e-6)
            assert 0.0 <= c["confidence"] <= 1.0
            assert c["popularity"] == pytest.approx(ref_popularity(c["product_id"]), abs=1e-6)
            assert c["segment_affinity"] == pytest.approx(
                ref_affinity(group, c["product_id"]), abs=1e-6
            )
            value = c["confidence"] * REC_SPEND[c["product_id"]]
            assert c["predicted_value"] == round(c["predicted_value"], 2)
            assert abs(c["predicted_value"] - value) <= 0.005 + 1e-9
            checked += 1
    assert checked > 100


def test_candidates_are_the_best_k_ranked_by_confidence_then_product_id(run_context, fast_policy):
    rows = random_rec_customers(seed=8, n=30)
    few = candidates_of(recommend_table([rec_batch(rows)], run_context, fast_policy, k=3))
    every = candidates_of(recommend_table([rec_batch(rows)], run_context, fast_policy, k=50))
    for customer_id, candidates in every.items():
        keys = [(-c["confidence"], c["product_id"]) for c in candidates]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)
        assert [c["candidate_rank"] for c in candidates] == list(range(1, len(keys) + 1))
        assert few[customer_id] == candidates[:3]


def test_candidates_with_equal_confidence_are_ranked_by_product_id(run_context, fast_policy):
    rows = [("twin-buyer", 3, ["p-j"]), ("twin-buyer-noise", None, ["p-j"])]
    out = recommend_table([rec_batch(rows)], run_context, fast_policy, k=20)
    for candidates in candidates_of(out).values():
        chosen = [c["product_id"] for c in candidates]
        twins = {c["product_id"]: c for c in candidates if c["product_id"] in ("p-h", "p-i")}
        assert set(twins) == {"p-h", "p-i"}
        signals = ("confidence", "copurchase", "similarity", "segment_affinity", "popularity")
        assert [twins["p-h"][s] for s in signals] == [twins["p-i"][s] for s in signals]
        assert chosen.index("p-i") == chosen.index("p-h") + 1


def test_candidates_are_identical_for_any_batch_split(run_context, fast_policy):
    rows = random_rec_customers(seed=13, n=31)
    whole = recommend_table([rec_batch(rows)], run_context, fast_policy, batch_size=64)
    split = recommend_table(
        [rec_batch(rows[:1]), rec_batch(rows[1:8]), rec_batch(rows[8:])],
        run_context,
        fast_policy,
        batch_size=3,
    )
    singles = recommend_table(
        [rec_batch([row]) for row in rows], run_context, fast_policy, batch_size=1
    )
    expected = whole.column("candidates").to_pylist()
    assert any(expected)
    for table in (split, singles):
        assert table.column("customer_id").to_pylist() == [r[0] for r in rows]
        assert table.column("candidates").to_pylist() == expected
    numbers = split.column("inference_batch_number").to_pylist()
    # 1 row -> batch 1; 7 rows -> batches 2..4; 23 rows -> batches 5..12
    assert numbers[0] == 1
    assert numbers[1:8] == [2, 2, 2, 3, 3, 3, 4]
    assert numbers[8:] == [5 + i // 3 for i in range(23)]
    assert singles.column("inference_batch_number").to_pylist() == list(range(1, 32))


def test_a_customer_with_no_known_purchases_gets_popular_products_from_the_pool(
    run_context, fast_policy
):
    rows = [
        ("no-history", None, None),
        ("empty-history", NOISE_SEGMENT_ID, []),
        ("only-gone-products", 42, ["gone-product", "another-gone-one"]),
        ("seg1-no-history", 1, []),
        ("seg2-no-history", 2, []),
    ]
    out = recommend_table([rec_batch(rows)], run_context, fast_policy, k=20)
    lists = candidates_of(out)
    best_seller = max(REC_IDS, key=lambda p: REC_COUNT[p])
    for customer_id, segment, _ in rows:
        candidates = lists[customer_id]
        chosen = [c["product_id"] for c in candidates]
        assert chosen, customer_id
        assert best_seller in chosen
        assert set(chosen) == ref_pool(group_of(segment))
        for c in candidates:
            assert c["copurchase"] == 0.0 and c["similarity"] == 0.0
    assert lists["no-history"] == lists["empty-history"] == lists["only-gone-products"]


def test_model_fingerprint_is_deterministic_and_content_derived():
    model = fit()
    assert model.model_id.startswith("rec-")
    assert model.model_id == recommend.model_fingerprint(model)
    assert fit().model_id == model.model_id


@pytest.mark.parametrize(
    "change",
    [
        {"purchase_counts": [REC_COUNT[p] + (5 if p == "p-c" else 0) for p in REC_IDS]},
        {"typical_spend": [REC_SPEND[p] + (1.0 if p == "p-g" else 0.0) for p in REC_IDS]},
        {"sample_histories": [*(h for h, _ in REC_SAMPLE[:-1]), ["p-b", "p-g"]]},
        {"sample_segments": [*(s for _, s in REC_SAMPLE[:-2]), 0, 0]},
        {"embeddings": np.stack([REC_EMB["p-b" if p == "p-c" else p] for p in REC_IDS])},
        {"has_embedding": np.array([p not in ("p-x", "p-n") for p in REC_IDS])},
        {
            "settings": recommend.FitSettings(
                copurchase_neighbours=1, semantic_neighbours=3, pool_size=2
            )
        },
        {"settings": recommend.FitSettings(5, 1, 2)},
        {"settings": recommend.FitSettings(5, 3, 3)},
        {"settings": recommend.FitSettings(5, 3, 2, reverse_cap=1)},
    ],
)
def test_model_fingerprint_changes_when_a_fit_input_changes(change):
    assert fit(**change).model_id != fit().model_id


def test_a_recommender_model_survives_the_model_store(run_context, fast_policy):
    model = fit()
    blob, checksum = dump_model(model)
    loaded = load_model(blob, checksum, recommend.RecommenderModel)
    assert recommend.model_fingerprint(loaded) == model.model_id
    rows = random_rec_customers(seed=17, n=12)
    before = recommend_table([rec_batch(rows)], run_context, fast_policy, model=model)
    after = recommend_table([rec_batch(rows)], run_context, fast_policy, model=loaded)
    assert after.column("candidates").to_pylist() == before.column("candidates").to_pylist()


def test_score_customers_writes_one_row_per_customer_with_the_output_schema(
    run_context, fast_policy
):
    rows = random_rec_customers(seed=21, n=11)
    k = 3
    out = recommend_table(
        [rec_batch(rows[:4]), rec_batch([]), rec_batch(rows[4:])], run_context, fast_policy, k=k
    )
    assert out.schema == recommend.output_schema()
    assert out.num_rows == len(rows)
    assert out.column("customer_id").to_pylist() == [r[0] for r in rows]
    assert out.column("scoring_fingerprint").to_pylist() == [f"sf-{r[0]}" for r in rows]
    assert out.column("segment_id").to_pylist() == [r[1] for r in rows]
    assert set(out.column("segment_model_id").to_pylist()) == {"seg-abc"}
    assert set(out.column("recommender_version").to_pylist()) == {"rec-v1"}
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert set(out.column("failure_reason").to_pylist()) == {None}
    assert set(out.column("error_message").to_pylist()) == {None}
    assert set(out.column("failed_runs").to_pylist()) == {0}
    assert set(out.column("attempts").to_pylist()) == {1}
    assert set(out.column("run_id").to_pylist()) == {run_context.run_id}
    assert set(out.column("processed_at").to_pylist()) == {run_context.run_started_at}
    for candidates in out.column("candidates").to_pylist():
        assert 0 < len(candidates) <= k
        assert [c["candidate_rank"] for c in candidates] == list(range(1, len(candidates) + 1))
        assert {c["product_id"] for c in candidates} <= set(REC_IDS)


class PoisonedModel(recommend.RecommenderModel):
    """A recommender that cannot score segment 13 (a fake for a failing record)."""

    def rows_for_segments(self, segment_ids):
        if 13 in segment_ids:
            raise PermanentError("segment 13 cannot be scored")
        return super().rows_for_segments(segment_ids)


def test_a_customer_that_cannot_be_scored_fails_alone_with_no_candidates(run_context, fast_policy):
    model = fit()
    poisoned = PoisonedModel(**{f.name: getattr(model, f.name) for f in fields(model)})
    rows = [("ok-1", 0, ["p-a"]), ("poison", 13, ["p-a"]), ("ok-2", None, ["p-c"])]
    out = recommend_table(
        [rec_batch(rows, previous_failed_runs=[0, 2, 1])],
        run_context,
        fast_policy,
        model=poisoned,
        batch_size=10,
    )
    healthy = recommend_table([rec_batch([rows[0], rows[2]])], run_context, fast_policy)
    assert out.schema == recommend.output_schema()
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert out.column("failure_reason").to_pylist() == [None, REASON_PERMANENT, None]
    assert "segment 13" in out.column("error_message").to_pylist()[1]
    assert out.column("failed_runs").to_pylist() == [0, 3, 0]
    candidates = out.column("candidates").to_pylist()
    assert candidates[1] is None
    assert [candidates[0], candidates[2]] == healthy.column("candidates").to_pylist()


def fit_abc(histories, counts, segments=None, **settings) -> recommend.RecommenderModel:
    """A recommender over products a, b, c from co-purchases only (no embeddings)."""
    return recommend.fit_recommender(
        ["a", "b", "c"],
        np.eye(3, dtype=np.float32),
        np.zeros(3, dtype=bool),
        counts,
        [1.0, 1.0, 1.0],
        histories,
        segments if segments is not None else [None] * len(histories),
        recommend.FitSettings(semantic_neighbours=0, **settings),
    )


def test_neighbour_signals_are_scaled_against_candidates_not_bought_products():
    # a and b are always bought together; c only once with a
    histories = [["a", "b"]] * 5 + [["a", "c"]]
    model = fit_abc(histories, [6, 5, 1], copurchase_neighbours=5, pool_size=1)
    (scored,) = recommend.score_histories(model, [["a", "b"]], [None], 5, ScoringWeights())
    by_item = dict(zip(scored.items.tolist(), scored.copurchase.tolist(), strict=True))
    assert by_item[model.product_ids.index("c")] == pytest.approx(1.0)


def test_a_candidate_is_scored_by_its_own_nearest_neighbours_among_the_history():
    # cosines: a-c 3/sqrt(12), a-b 1/sqrt(8), b-c 0; with one neighbour each, a lists c,
    # b lists a, c lists a. A buyer of a gets b through b's list, not a's.
    histories = [["a", "c"]] * 3 + [["a", "b"], ["b"]]
    model = fit_abc(histories, [4, 2, 3], copurchase_neighbours=1, pool_size=1)
    (scored,) = recommend.score_histories(model, [["a"]], [None], 5, ScoringWeights())
    by_item = dict(zip(scored.items.tolist(), scored.copurchase.tolist(), strict=True))
    index = model.index
    assert by_item[index["c"]] == pytest.approx(1.0)
    assert by_item[index["b"]] == pytest.approx((1 / math.sqrt(8)) / (3 / math.sqrt(12)), abs=1e-5)
    # reversed lists are capped: with reverse_cap 1, a votes only for its most similar voter
    capped = fit_abc(histories, [4, 2, 3], copurchase_neighbours=1, pool_size=1, reverse_cap=1)
    assert capped.copurchase[index["a"]].indices.tolist() == [index["c"]]


def reference_scores(model, history, segment_id, k, weights):
    """One customer's best k as (item, confidence, copurchase, semantic), written from
    score_histories's definition with dicts, one customer at a time."""
    index = model.index
    bought = {index[p] for p in history if p in index}
    group = model.rows_for_segments([segment_id])[0]

    def votes(reversed_lists):
        # summed in the lists' float32, in history order, as a sparse product does
        total: dict[int, np.float32] = {}
        for i in sorted(bought):
            row = reversed_lists[i]
            for j, value in zip(row.indices.tolist(), row.data, strict=True):
                total[j] = total.get(j, np.float32(0.0)) + value
        total = {j: float(v) for j, v in total.items() if j not in bought and v != 0}
        best = max(total.values(), default=0.0)
        return {j: v / (best if best > 0 else 1.0) for j, v in total.items()}

    cp, sem = votes(model.copurchase), votes(model.semantic)
    pool = set(model.pools[group].indices.tolist())
    candidates = sorted((set(cp) | set(sem) | pool) - bought)
    cp_all = np.array([cp.get(j, 0.0) + (1e-9 if j in pool else 0.0) for j in candidates])
    sem_all = np.array([sem.get(j, 0.0) for j in candidates])
    items = np.array(candidates, dtype=np.int64)
    confidence = blend_confidence(
        cp_all, sem_all, model.affinity[group, items], model.popularity[items], weights
    )
    ranked = sorted(range(len(candidates)), key=lambda e: (-confidence[e], candidates[e]))[:k]
    return [(candidates[e], confidence[e], cp_all[e], sem_all[e]) for e in ranked]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("int32_keys", [True, False])
@pytest.mark.parametrize("segment_weight", [0.1, 0.0])
def test_score_histories_agrees_with_a_per_customer_reference(
    seed, int32_keys, segment_weight, monkeypatch
):
    if not int32_keys:  # int64 keys, taken by batches of 2**31 cells or more
        monkeypatch.setattr(recommend, "_INT32_CELLS", 0)
    rng = np.random.default_rng(900 + seed)
    n_items = 40
    ids = [f"p{i:02d}" for i in range(n_items)]
    embeddings = rng.normal(size=(n_items, 8)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    histories = [
        list(rng.choice(ids, size=int(rng.integers(1, 7)), replace=False)) for _ in range(200)
    ]
    segments = [int(s) if s >= 0 else None for s in rng.integers(-1, 3, size=200)]
    model = recommend.fit_recommender(
        ids,
        embeddings,
        rng.random(n_items) > 0.2,
        rng.integers(0, 50, size=n_items).astype(float),
        rng.uniform(1, 100, size=n_items),
        histories,
        segments,
        recommend.FitSettings(copurchase_neighbours=6, semantic_neighbours=4, pool_size=5),
    )
    weights = ScoringWeights(
        copurchase=0.4, semantic=0.3, segment=segment_weight, popularity=0.3 - segment_weight
    )
    customers = [[*h, "unknown-product"] for h in histories[:60]] + [[], None]
    customer_segments = [*segments[:60], 1, 99]
    got = recommend.score_histories(model, customers, customer_segments, 7, weights)
    for scored, history, segment in zip(got, customers, customer_segments, strict=True):
        expected = reference_scores(model, history or [], segment, 7, weights)
        assert scored.items.tolist() == [e[0] for e in expected]
        assert scored.confidence.tolist() == pytest.approx([e[1] for e in expected], abs=1e-12)
        assert scored.copurchase.tolist() == pytest.approx([e[2] for e in expected], rel=1e-6)
        assert scored.semantic.tolist() == pytest.approx([e[3] for e in expected], rel=1e-6)
        group = model.rows_for_segments([segment])[0]
        assert scored.affinity.tolist() == [model.affinity[group, e[0]] for e in expected]


def test_history_matrix_of_arrow_lists_equals_the_one_of_python_lists():
    catalog = ["p0", "p1", "p2", "p3"]
    index = {p: i for i, p in enumerate(catalog)}
    histories = [
        ["p2", "p0"],
        ["p3", "p3", "unknown", None],  # a repeat, a product not in the catalog, a null
        [],
        None,
        ["p1", "p0", "p2", "p3"],
    ]
    lists = pa.array(histories, pa.list_(pa.string()))
    for offset in (0, 1):  # a sliced array keeps its offset into the values
        column = lists.slice(offset)
        got = recommend.history_matrix_of_lists(column, pa.array(catalog))
        expected = recommend.history_matrix(histories[offset:], index, len(catalog))
        assert got.shape == expected.shape
        assert got.indptr.tolist() == expected.indptr.tolist()
        assert got.indices.tolist() == expected.indices.tolist()
        assert got.data.tolist() == expected.data.tolist()
        assert got.dtype == expected.dtype
    # Spark's Arrow may hand over large lists of large strings: the same matrix
    large = lists.cast(pa.large_list(pa.large_string()))
    got = recommend.history_matrix_of_lists(large, pa.array(catalog))
    expected = recommend.history_matrix(histories, index, len(catalog))
    assert (got != expected).nnz == 0


def test_model_fingerprint_changes_when_segments_are_relabelled():
    histories = [["a", "b"], ["b", "c"], ["a", "c"]]

    def fit(labels):
        return fit_abc(histories, [2, 2, 2], labels, copurchase_neighbours=2, pool_size=2)

    assert fit([3, 3, -1]).model_id == fit([3, 3, -1]).model_id
    assert fit([3, 3, -1]).model_id != fit([4, 4, -1]).model_id


# worker processes ----------------------------------------------------------------------------


def without_latency(table: pa.Table) -> pa.Table:
    """The rows a step wrote, less the measured call latency (differs run to run)."""
    return table.drop_columns(["batch_latency_ms"])


def test_scoring_in_worker_processes_writes_the_same_rows(run_context, fast_policy):
    rows = random_rec_customers(seed=5, n=40)
    faulty = RetryPolicy(
        max_retries=1,
        initial_backoff_seconds=0.0,
        jitter_seconds=0.0,
        faults=StepFaults("recommend", transient_rate=0.2, permanent_rate=0.1),
    )
    model = fit()
    batches = [rec_batch(rows[i : i + 7]) for i in range(0, len(rows), 7)]

    def scored(processes: int) -> pa.Table:
        return table_of(
            recommend.score_customers(
                batches,
                model,
                k=4,
                weights=REC_WEIGHTS,
                recommender_version="rec-v1",
                run=run_context,
                policy=faulty,
                batch_size=3,
                processes=processes,
            )
        )

    here, in_workers = scored(1), scored(2)
    assert here.num_rows == len(rows)
    assert {"ok", "failed"} <= set(here.column("status").to_pylist())
    assert max(here.column("inference_batch_number").to_pylist()) == sum(
        -(-b.num_rows // 3) for b in batches
    )
    assert without_latency(in_workers).equals(without_latency(here))


def test_segment_assignment_in_worker_processes_writes_the_same_rows(run_context, fast_policy):
    model = fit_model()
    rng = np.random.default_rng(3)
    rows = [
        (f"c{i:02d}", near(i % 3, 1, rng)[0] if i % 6 else None, bool(i % 6), 0) for i in range(30)
    ]
    batches = [assign_batch(rows[i : i + 8]) for i in range(0, len(rows), 8)]

    def labelled(processes: int) -> pa.Table:
        return table_of(
            segments.assign_segments(
                batches,
                model,
                dimension=SEG_DIM,
                run=run_context,
                policy=fast_policy,
                batch_size=5,
                processes=processes,
            )
        )

    here, in_workers = labelled(1), labelled(2)
    assert here.num_rows == len(rows)
    assert len(set(here.column("segment_id").to_pylist())) >= 2
    assert without_latency(in_workers).equals(without_latency(here))
