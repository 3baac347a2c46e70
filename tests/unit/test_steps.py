"""The inference steps with fake ports: embed, vectorize, segment, recommend.

The encoder and the clusterer are fakes (deterministic, no model is loaded). The
steps call the real time.sleep between retries, so every policy here has zero backoff.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pytest

from holdfast.application import customer_vectors, embedding, recommend, segments
from holdfast.application.records import STATUS_FAILED, STATUS_OK, vectors_to_array
from holdfast.application.resilience import (
    REASON_PERMANENT,
    REASON_RETRIES_EXHAUSTED,
    RetryPolicy,
)
from holdfast.domain.reduction import Projection
from holdfast.domain.scoring import ScoringWeights
from holdfast.domain.segmentation import NOISE_SEGMENT_ID

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
    assert model.segment_model_id == segments.model_id_for(SAMPLE_IDS, PARAMS)
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
    base = segments.model_id_for(["a", "b"], {"x": 1, "y": 2})
    assert base == segments.model_id_for(["a", "b"], {"y": 2, "x": 1})
    assert base.startswith("seg-") and len(base) == len("seg-") + 16
    assert base != segments.model_id_for(["b", "a"], {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b", "c"], {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b"], {"x": 1, "y": 3})
    assert segments.model_id_for(["ab"], {}) != segments.model_id_for(["a", "b"], {})


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


# build_catalog + score_customers -------------------------------------------------------------

CAT_DIM = 6
_crng = np.random.default_rng(2024)
CAT_IDS = [f"p{i:02d}" for i in range(12)]
CAT_EMB = {p: unit(_crng.normal(size=CAT_DIM)).astype(np.float32) for p in CAT_IDS}
CAT_COUNT = {p: int(c) for p, c in zip(CAT_IDS, _crng.integers(0, 500, size=12), strict=True)}
CAT_SPEND = {
    p: round(float(s), 2) for p, s in zip(CAT_IDS, _crng.uniform(1, 100, size=12), strict=True)
}
CAT_AFFINITY = {
    (s, p): float(_crng.uniform(0, 1)) for s in (-1, 0, 1) for p in CAT_IDS if _crng.random() < 0.8
}
SHUFFLED = [CAT_IDS[i] for i in _crng.permutation(12)]
WEIGHTS = ScoringWeights(0.5, 0.3, 0.2)


def make_catalog(affinity=None) -> recommend.Catalog:
    triples = [(s, p, a) for (s, p), a in CAT_AFFINITY.items()] if affinity is None else affinity
    return recommend.build_catalog(
        SHUFFLED,
        np.stack([CAT_EMB[p] for p in SHUFFLED]),
        [CAT_COUNT[p] for p in SHUFFLED],
        [CAT_SPEND[p] for p in SHUFFLED],
        [*triples, (0, "not-in-catalog", 0.9)],
    )


def test_build_catalog_orders_products_by_id_and_keeps_their_attributes_aligned():
    catalog = make_catalog()
    assert catalog.product_ids == sorted(CAT_IDS)
    assert catalog.index == {p: i for i, p in enumerate(sorted(CAT_IDS))}
    top = max(CAT_COUNT.values())
    for i, p in enumerate(catalog.product_ids):
        np.testing.assert_array_equal(catalog.embeddings[i], CAT_EMB[p])
        assert catalog.typical_spend[i] == CAT_SPEND[p]
        assert catalog.popularity[i] == pytest.approx(math.log1p(CAT_COUNT[p]) / math.log1p(top))


def test_build_catalog_fills_the_affinity_matrix_and_ignores_unknown_products():
    catalog = make_catalog()
    assert catalog.segment_row == {-1: 0, 0: 1, 1: 2}
    assert catalog.segment_affinity.shape == (3, 12)
    for s in (-1, 0, 1):
        for p in CAT_IDS:
            expected = CAT_AFFINITY.get((s, p), 0.0)
            got = catalog.segment_affinity[catalog.segment_row[s], catalog.index[p]]
            assert got == pytest.approx(expected, abs=1e-7)


def test_affinity_rows_use_the_minus_one_row_for_noise_none_and_unknown_segments():
    catalog = make_catalog()
    rows = catalog.affinity_rows([0, -1, None, 42, 1])
    population = catalog.segment_affinity[catalog.segment_row[-1]]
    np.testing.assert_array_equal(rows[0], catalog.segment_affinity[catalog.segment_row[0]])
    for i in (1, 2, 3):
        np.testing.assert_array_equal(rows[i], population)
    np.testing.assert_array_equal(rows[4], catalog.segment_affinity[catalog.segment_row[1]])


def test_affinity_rows_are_zero_when_there_is_no_population_row():
    catalog = make_catalog([(0, "p00", 0.5), (0, "p01", 0.25)])
    rows = catalog.affinity_rows([None, 5, 0])
    np.testing.assert_array_equal(rows[0], 0.0)
    np.testing.assert_array_equal(rows[1], 0.0)
    assert rows[2, catalog.index["p00"]] == 0.5


def customer_batch(rows) -> pa.RecordBatch:
    """rows: (customer_id, vector or None, segment_id, purchased ids or None)."""
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "scoring_fingerprint": [f"sf-{r[0]}" for r in rows],
            "vector": vectors_to_array([r[1] for r in rows], CAT_DIM),
            "segment_id": pa.array([r[2] for r in rows], pa.int32()),
            "segment_model_id": ["seg-abc"] * len(rows),
            "purchased_product_ids": pa.array([r[3] for r in rows], pa.list_(pa.string())),
            "previous_failed_runs": pa.array([0] * len(rows), pa.int32()),
        }
    )


def make_customers(seed: int = 9, n: int = 14):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        vector = None if i % 5 == 4 else unit(rng.normal(size=CAT_DIM)).astype(np.float32)
        segment = [0, 1, -1, None, 42][i % 5]
        bought = [p for p in CAT_IDS if rng.random() < 0.3]
        if i % 3 == 0:
            bought.append("discontinued-product")
        rows.append((f"c{i:02d}", vector, segment, bought if i % 7 != 6 else None))
    rows.append(("c-everything", rows[0][1], 0, list(CAT_IDS)))
    return rows


def score(batches, run_context, policy, *, k=4, batch_size=64, catalog=None) -> pa.Table:
    return table_of(
        recommend.score_customers(
            batches,
            catalog or make_catalog(),
            k=k,
            weights=WEIGHTS,
            recommender_version="rec-1",
            run=run_context,
            policy=policy,
            batch_size=batch_size,
        )
    )


def reference_signals(vector, segment) -> dict[str, tuple[float, float, float, float]]:
    """Independent scoring in float64: product -> (confidence, similarity, affinity, pop)."""
    v = np.zeros(CAT_DIM) if vector is None else np.asarray(vector, dtype=np.float64)
    row = segment if segment in (-1, 0, 1) else -1
    top = math.log1p(max(CAT_COUNT.values()))
    signals = {}
    for p in CAT_IDS:
        similarity = float(v @ CAT_EMB[p].astype(np.float64))
        affinity = CAT_AFFINITY.get((row, p), 0.0)
        popularity = math.log1p(CAT_COUNT[p]) / top
        confidence = (
            WEIGHTS.similarity * min(1.0, max(0.0, similarity))
            + WEIGHTS.segment * affinity
            + WEIGHTS.popularity * popularity
        )
        signals[p] = (confidence, similarity, affinity, popularity)
    return signals


def test_score_customers_proposes_the_best_unpurchased_products_with_sound_values(
    run_context, fast_policy
):
    k = 4
    rows = make_customers()
    out = score([customer_batch(rows)], run_context, fast_policy, k=k)
    assert out.schema == recommend.output_schema()
    assert out.num_rows == len(rows)
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert set(out.column("recommender_version").to_pylist()) == {"rec-1"}
    assert out.column("segment_id").to_pylist() == [r[2] for r in rows]
    assert out.column("scoring_fingerprint").to_pylist() == [f"sf-{r[0]}" for r in rows]
    for (_, vector, segment, bought), candidates in zip(
        rows, out.column("candidates").to_pylist(), strict=True
    ):
        bought = set(bought or [])
        allowed = [p for p in CAT_IDS if p not in bought]
        reference = reference_signals(vector, segment)
        chosen = [c["product_id"] for c in candidates]
        assert not set(chosen) & bought
        assert len(chosen) == len(set(chosen)) == min(k, len(allowed))
        assert [c["candidate_rank"] for c in candidates] == list(range(1, len(chosen) + 1))
        for c in candidates:
            ref_conf, ref_sim, ref_aff, ref_pop = reference[c["product_id"]]
            assert 0.0 <= c["confidence"] <= 1.0
            assert c["confidence"] == pytest.approx(ref_conf, abs=2e-6)
            assert c["similarity"] == pytest.approx(ref_sim, abs=1e-5)
            assert c["segment_affinity"] == pytest.approx(ref_aff, abs=1e-6)
            assert c["popularity"] == pytest.approx(ref_pop, abs=1e-6)
            expected_value = round(c["confidence"] * CAT_SPEND[c["product_id"]], 2)
            assert c["predicted_value"] == expected_value
        # best first, ties by product_id
        keys = [(-c["confidence"], c["product_id"]) for c in candidates]
        assert keys == sorted(keys)
        # nothing left out scores better than what was kept
        if chosen:
            worst_kept = min(c["confidence"] for c in candidates)
            for p in set(allowed) - set(chosen):
                assert reference[p][0] <= worst_kept + 2e-6


def test_score_customers_gives_a_customer_who_bought_everything_an_empty_list(
    run_context, fast_policy
):
    out = score([customer_batch(make_customers())], run_context, fast_policy)
    last = out.slice(out.num_rows - 1)
    assert last.column("customer_id").to_pylist() == ["c-everything"]
    assert last.column("candidates").to_pylist() == [[]]
    assert last.column("status").to_pylist() == [STATUS_OK]


def test_score_customers_returns_every_allowed_product_when_k_exceeds_the_catalog(
    run_context, fast_policy
):
    rows = [("c1", unit(np.ones(CAT_DIM)), 0, ["p00", "p05"])]
    out = score([customer_batch(rows)], run_context, fast_policy, k=50)
    chosen = [c["product_id"] for c in out.column("candidates").to_pylist()[0]]
    assert sorted(chosen) == sorted(set(CAT_IDS) - {"p00", "p05"})


def test_score_customers_uses_the_population_affinity_row_for_noise_and_unknown_segments(
    run_context, fast_policy
):
    vector = unit(np.arange(1, CAT_DIM + 1, dtype=np.float64))
    rows = [
        ("noise", vector, -1, []),
        ("none", vector, None, []),
        ("unknown", vector, 42, []),
        ("seg0", vector, 0, []),
    ]
    out = score([customer_batch(rows)], run_context, fast_policy, k=12)
    lists = out.column("candidates").to_pylist()
    for candidates in lists[:3]:
        for c in candidates:
            expected = CAT_AFFINITY.get((-1, c["product_id"]), 0.0)
            assert c["segment_affinity"] == pytest.approx(expected, abs=1e-6)
    for c in lists[3]:
        expected = CAT_AFFINITY.get((0, c["product_id"]), 0.0)
        assert c["segment_affinity"] == pytest.approx(expected, abs=1e-6)
    assert lists[0] == lists[1] == lists[2]


def test_score_customers_gives_identical_candidates_in_any_batch_split(run_context, fast_policy):
    rows = make_customers(seed=21, n=30)
    whole = score([customer_batch(rows)], run_context, fast_policy, batch_size=64)
    split = score(
        [customer_batch(rows[:1]), customer_batch(rows[1:8]), customer_batch(rows[8:])],
        run_context,
        fast_policy,
        batch_size=3,
    )
    assert split.column("customer_id").to_pylist() == whole.column("customer_id").to_pylist()
    assert split.column("candidates").to_pylist() == whole.column("candidates").to_pylist()
    numbers = split.column("inference_batch_number").to_pylist()
    # 1 row -> batch 1; 7 rows -> batches 2..4; 23 rows -> batches 5..12
    assert numbers[0] == 1
    assert numbers[1:8] == [2, 2, 2, 3, 3, 3, 4]
    assert numbers[8:] == [5 + i // 3 for i in range(23)]
