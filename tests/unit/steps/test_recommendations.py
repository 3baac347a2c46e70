"""score_customers and score_histories: candidates, their signals and confidence, failures,
any batch split, worker processes.

The step calls the real time.sleep between retries, so every policy here has zero backoff.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pyarrow as pa
import pytest
from tests.unit.fakes import table_of, without_latency
from tests.unit.steps.recommender_catalog import (
    KNN_WEIGHTS,
    REC_COUNT,
    REC_IDS,
    REC_SPEND,
    REC_WEIGHTS,
    buyers_of,
    candidates_of,
    fit,
    fit_abc,
    fit_settings,
    group_of,
    random_rec_customers,
    rec_batch,
    recommend_table,
    ref_affinity,
    ref_pool,
    ref_popularity,
)

from holdfast.application import candidates as candidate_scoring
from holdfast.application import recommend
from holdfast.application.faults import StepFaults
from holdfast.application.records import STATUS_FAILED, STATUS_OK
from holdfast.application.resilience import (
    REASON_PERMANENT,
    PermanentError,
    RetryPolicy,
)
from holdfast.domain.scoring import ScoringWeights, blend_confidence
from holdfast.domain.segmentation import NOISE_SEGMENT_ID


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


def test_neighbour_signals_are_scaled_against_candidates_not_bought_products():
    # a and b are always bought together; c only once with a
    histories = [["a", "b"]] * 5 + [["a", "c"]]
    model = fit_abc(histories, [6, 5, 1], copurchase_neighbours=5, pool_size=1)
    (scored,) = recommend.score_histories(model, [["a", "b"]], [None], 5, KNN_WEIGHTS)
    by_item = dict(zip(scored.items.tolist(), scored.copurchase.tolist(), strict=True))
    assert by_item[model.product_ids.index("c")] == pytest.approx(1.0)


def test_a_candidate_is_scored_by_its_own_nearest_neighbours_among_the_history():
    # cosines: a-c 3/sqrt(12), a-b 1/sqrt(8), b-c 0; with one neighbour each, a lists c,
    # b lists a, c lists a. A buyer of a gets b through b's list, not a's.
    histories = [["a", "c"]] * 3 + [["a", "b"], ["b"]]
    model = fit_abc(histories, [4, 2, 3], copurchase_neighbours=1, pool_size=1)
    (scored,) = recommend.score_histories(model, [["a"]], [None], 5, KNN_WEIGHTS)
    by_item = dict(zip(scored.items.tolist(), scored.copurchase.tolist(), strict=True))
    index = model.index
    assert by_item[index["c"]] == pytest.approx(1.0)
    assert by_item[index["b"]] == pytest.approx((1 / math.sqrt(8)) / (3 / math.sqrt(12)), abs=1e-5)
    # reversed lists are capped: with reverse_cap 1, a votes only for its most similar voter
    capped = fit_abc(histories, [4, 2, 3], copurchase_neighbours=1, pool_size=1, reverse_cap=1)
    assert capped.copurchase[index["a"]].indices.tolist() == [index["c"]]


def reference_scores(model, history, segment_id, k, weights):
    """One customer's best k as (item, confidence, copurchase evidence, semantic), written
    from score_histories's definition with dicts, one customer at a time."""
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
    ease = {} if model.ease is None else votes(model.ease)
    pool = set(model.pools[group].indices.tolist())
    candidates = sorted((set(cp) | set(sem) | set(ease) | pool) - bought)
    cp_all = np.array([cp.get(j, 0.0) + (1e-9 if j in pool else 0.0) for j in candidates])
    sem_all = np.array([sem.get(j, 0.0) for j in candidates])
    ease_all = np.array([ease.get(j, 0.0) for j in candidates])
    items = np.array(candidates, dtype=np.int64)
    confidence = [
        round(
            weights.copurchase * min(cp_all[e], 1.0)
            + weights.semantic * sem_all[e]
            + weights.segment * float(model.affinity[group, items[e]])
            + weights.popularity * float(model.popularity[items[e]])
            + weights.ease * ease_all[e],
            6,
        )
        for e in range(len(candidates))
    ]
    co_weight = weights.copurchase + weights.ease
    evidence = [
        (weights.copurchase * cp_all[e] + weights.ease * ease_all[e]) / co_weight
        for e in range(len(candidates))
    ]
    ranked = sorted(range(len(candidates)), key=lambda e: (-confidence[e], candidates[e]))[:k]
    return [(candidates[e], confidence[e], evidence[e], sem_all[e]) for e in ranked]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("int32_keys", [True, False])
@pytest.mark.parametrize("segment_weight", [0.1, 0.0])
def test_score_histories_agrees_with_a_per_customer_reference(
    seed, int32_keys, segment_weight, monkeypatch
):
    if not int32_keys:  # int64 keys, taken by batches of 2**31 cells or more
        monkeypatch.setattr(candidate_scoring, "_INT32_CELLS", 0)
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
        fit_settings(
            copurchase_neighbours=6,
            semantic_neighbours=4,
            pool_size=5,
            ease_max_items=30,
            ease_l2=5.0,
            ease_neighbours=5,
        ),
    )
    weights = ScoringWeights(
        copurchase=0.25,
        semantic=0.25,
        segment=segment_weight,
        popularity=0.3 - segment_weight,
        ease=0.2,
    )
    # EASE on the 30 most-bought of the 40 products
    assert model.ease is not None
    assert len({i for i in model.ease.indices.tolist()}) <= 30
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
