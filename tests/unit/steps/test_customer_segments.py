"""assign_segments: customers labelled by a segment model, in any batch shape and in workers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from tests.unit.fakes import FixedFitted, table_of, without_latency
from tests.unit.steps.segment_sample import SAMPLE, SEG_DIM, fit_model, near

from holdfast.application import segments
from holdfast.application.records import STATUS_OK, vectors_to_array
from holdfast.domain.reduction import Projection
from holdfast.domain.segmentation import NOISE_SEGMENT_ID


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
