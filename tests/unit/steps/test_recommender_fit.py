"""fit_recommender: neighbour lists, affinities, pools and the content-derived model id."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from tests.unit.steps.recommender_catalog import (
    REC_COUNT,
    REC_EMB,
    REC_HAS_EMB,
    REC_IDS,
    REC_SAMPLE,
    REC_SEGMENTS,
    REC_SETTINGS,
    REC_SPEND,
    buyers_of,
    fit,
    fit_abc,
    fit_settings,
    random_rec_customers,
    rec_batch,
    recommend_table,
    ref_affinity,
    ref_popularity,
)

from holdfast.application import recommend
from holdfast.domain.segmentation import NOISE_SEGMENT_ID
from holdfast.entrypoints.steps._fit_queries import DuckDBFitQueries
from holdfast.entrypoints.steps.recommender_fit import _current_recommender, settings_fingerprint
from holdfast.infrastructure.model_store import dump_model, load_model
from holdfast.settings import RecommenderSettings


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
        {"settings": fit_settings(copurchase_neighbours=1, semantic_neighbours=3, pool_size=2)},
        {"settings": fit_settings(copurchase_neighbours=5, semantic_neighbours=1, pool_size=2)},
        {"settings": fit_settings(copurchase_neighbours=5, semantic_neighbours=3, pool_size=3)},
        {
            "settings": fit_settings(
                copurchase_neighbours=5, semantic_neighbours=3, pool_size=2, reverse_cap=1
            )
        },
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


def test_model_fingerprint_changes_when_segments_are_relabelled():
    histories = [["a", "b"], ["b", "c"], ["a", "c"]]

    def fit(labels):
        return fit_abc(histories, [2, 2, 2], labels, copurchase_neighbours=2, pool_size=2)

    assert fit([3, 3, -1]).model_id == fit([3, 3, -1]).model_id
    assert fit([3, 3, -1]).model_id != fit([4, 4, -1]).model_id


def test_the_current_recommender_carries_the_fit_settings_it_was_fitted_with():
    con = duckdb.connect()
    con.execute(
        "create table previous (recommender_model_id varchar, population_at_fit bigint, "
        "catalog_fingerprint varchar, segment_model_id varchar, params varchar, "
        "fitted_at timestamp)"
    )
    # an older fit without the EASE settings, and the newest with them
    con.execute(
        "insert into previous values "
        "('rec-old', 10, 'cat', 'seg', '{\"pool_size\": 50, \"seed\": 42}', '2024-01-01'), "
        "('rec-new', 20, 'cat', 'seg', "
        '\'{"pool_size": 50, "ease_max_items": 5000, "sample_size": 20}\', \'2024-02-01\')'
    )
    queries = DuckDBFitQueries(con)
    current = _current_recommender(queries, "previous", ["ease_max_items", "pool_size"])
    assert current.recommender_model_id == "rec-new"
    assert current.population_at_fit == 20
    assert current.fit_settings == '{"ease_max_items": 5000, "pool_size": 50}'
    # a setting the fit did not record reads null, so it differs from any value
    with_l2 = _current_recommender(queries, "previous", ["ease_l2", "ease_max_items"])
    assert with_l2.fit_settings == '{"ease_l2": null, "ease_max_items": 5000}'
    wanted = fit_settings().as_dict()
    assert settings_fingerprint(wanted) == settings_fingerprint(dict(reversed(wanted.items())))
    assert wanted["ease_max_items"] == RecommenderSettings().ease_max_items
    assert _current_recommender(queries, None, ["pool_size"]) is None
