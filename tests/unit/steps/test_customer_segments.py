"""Segment assignment: a customer's segment from their product list, in batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from tests.unit.fakes import FixedFitted, table_of, without_latency
from tests.unit.steps.segment_sample import RADIUS, SAMPLE, basket, fit_model, tfidf_unit_rows

from holdfast.application import segments
from holdfast.application.records import STATUS_OK
from holdfast.domain.segment_features import fit_purchase_factors
from holdfast.domain.segmentation import NOISE_SEGMENT_ID
from holdfast.infrastructure.clustering import NearestCentroid


def test_segment_model_assign_maps_labels_clips_strengths_and_places_noise_nearest():
    factors = fit_purchase_factors([["a"], ["b"]], n_products=2, n_components=2)
    model = segments.SegmentModel(
        segment_model_id="seg-test",
        factors=factors,
        clusterer=FixedFitted([4, 1, -1, 8], [0.7, 1.5, 0.9, -0.2]),
        # centroids: label 1 along a's factor, label 4 along b's
        nearest=NearestCentroid(factors.transform([["a"], ["b"]]), np.array([1, 4])),
        segment_of_label={1: 0, 4: 1},
        profiles=[],
        population_at_fit=4,
        n_sample=4,
        noise_share=0.25,
        fit_reason="test",
    )
    # the third (noise) bought b: nearest is label 4 -> segment 1; the fourth's
    # label 8 is not a segment: it is placed by the nearest centroid too (a -> 0);
    # the fifth bought nothing the model knows: unsegmented
    ids, strengths, noise = model.assign([["a"], ["a"], ["b"], ["a", "zz"], ["zz"]])
    assert ids.tolist() == [1, 0, 1, 0, NOISE_SEGMENT_ID]
    assert strengths.tolist() == [0.7, 1.0, 0.0, 0.0, 0.0]
    assert noise.tolist() == [False, False, True, True, True]
    empty = model.assign([])
    assert [a.shape for a in empty] == [(0,), (0,), (0,)]


def assign_batch(rows) -> pa.RecordBatch:
    """rows: (customer_id, product ids, previous_failed_runs)."""
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "profile_fingerprint": [f"fp-{r[0]}" for r in rows],
            "product_ids": pa.array([r[1] for r in rows], pa.list_(pa.string())),
            "previous_failed_runs": pa.array([r[2] for r in rows], pa.int32()),
        }
    )


def assign(batches, model, run_context, policy, batch_size=10) -> pa.Table:
    return table_of(
        segments.assign_segments(
            batches, model, run=run_context, policy=policy, batch_size=batch_size
        )
    )


def test_assign_segments_labels_customers_by_cluster_and_noise_by_the_nearest_centroid(
    run_context, fast_policy
):
    model = fit_model()
    a, b, c = basket(1, 4), basket(0, 2), basket(2, 5)
    d = ["g4p0", "g4p1", "g2p1"]  # noise, nearest to group 2's customers
    rows = [
        ("a", a, 0),
        ("b", b, 0),
        ("c", c, 1),
        ("d", d, 0),
        ("e", [], 0),
        ("f", None, 0),
        ("g", ["unknown"], 0),
    ]
    out = assign([assign_batch(rows)], model, run_context, fast_policy)
    assert out.schema == segments.assignment_schema()
    assert out.column("segment_id").to_pylist() == [0, 2, 1, 1, -1, -1, -1]
    assert out.column("is_noise").to_pylist() == [False, False, False, True, True, True, True]
    strengths = out.column("membership_strength").to_pylist()
    assert strengths[3:] == [0.0, 0.0, 0.0, 0.0]
    # full rank: distances to the cluster centroid are those of the unit tf-idf rows
    products = list(model.factors.product_ids)
    sample_rows = tfidf_unit_rows(SAMPLE, products)
    group = {0: sample_rows[4:13], 2: sample_rows[0:4], 1: sample_rows[13:19]}
    points = tfidf_unit_rows([a, b, c], products)
    for strength, point, segment in zip(strengths[:3], points, [0, 2, 1], strict=True):
        distance = float(np.linalg.norm(point - group[segment].mean(axis=0)))
        assert strength == pytest.approx(1 - distance / RADIUS, abs=2e-6)
        assert 0.0 < strength <= 1.0
    # d's nearest centroid (unit means of the groups' unit tf-idf rows, brute
    # force) is group 2's (segment 1)
    cosines = {
        segment: float(tfidf_unit_rows([d], products)[0] @ (m / np.linalg.norm(m)))
        for segment, m in ((s, rows.mean(axis=0)) for s, rows in group.items())
    }
    assert max(cosines, key=cosines.get) == 1
    assert set(out.column("segment_model_id").to_pylist()) == {model.segment_model_id}
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert out.column("failed_runs").to_pylist() == [0] * 7


def test_assign_segments_without_a_model_leaves_everyone_unsegmented(run_context, fast_policy):
    rows = [("a", basket(0, 0), 0), ("b", None, 3)]
    out = assign([assign_batch(rows)], None, run_context, fast_policy)
    assert out.column("segment_model_id").to_pylist() == ["none", "none"]
    assert out.column("segment_id").to_pylist() == [-1, -1]
    assert out.column("membership_strength").to_pylist() == [0.0, 0.0]
    assert out.column("is_noise").to_pylist() == [True, True]
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_OK]
    assert out.column("failed_runs").to_pylist() == [0, 0]


def test_assign_segments_gives_the_same_labels_in_any_batch_shape(run_context, fast_policy):
    model = fit_model()
    rows = [(f"c{i}", basket(i % 5, i), 0) for i in range(13)]
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
    rows = [(f"c{i:02d}", basket(i % 3, i) if i % 6 else [], 0) for i in range(30)]
    batches = [assign_batch(rows[i : i + 8]) for i in range(0, len(rows), 8)]

    def labelled(processes: int) -> pa.Table:
        return table_of(
            segments.assign_segments(
                batches,
                model,
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


def test_a_model_without_purchase_factors_is_not_used_to_label():
    class TasteVectorModel:  # a pickled model of another feature set
        segment_model_id = "seg-old"

    model = fit_model()
    assert segments.usable_model(model) is model
    assert segments.usable_model(TasteVectorModel()) is None
    assert segments.usable_model(None) is None
