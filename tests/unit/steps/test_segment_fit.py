"""fit_segment_model with a fake clusterer: segment ids, content-derived model
ids, refits, labels; the fit step's sample on DuckDB."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest
from tests.unit.fakes import FakeClusterer
from tests.unit.steps.segment_sample import (
    N_COMPONENTS,
    NAMES,
    PARAMS,
    RADIUS,
    RAW_LABELS,
    SAMPLE,
    SAMPLE_IDS,
    basket,
    fit_model,
    tfidf_unit_rows,
)

from holdfast.application import segments
from holdfast.application.records import RunContext
from holdfast.entrypoints.steps import segment_fit
from holdfast.entrypoints.steps._fit_queries import DuckDBFitQueries
from holdfast.settings import PipelineSettings


def test_fit_segment_model_orders_segment_ids_by_segment_size():
    model = fit_model()
    # sizes with the noise customers in their nearest segment: group 1 has 9 + 2
    assert model.segment_of_label == {3: 0, 5: 1, 7: 2}
    assert model.n_segments == 3
    assert model.noise_share == pytest.approx(2 / 21)
    assert model.n_sample == 21
    assert model.population_at_fit == 1234
    assert model.fit_reason == "no segment model yet"
    assert [p.sample_customers for p in model.profiles] == [11, 6, 4]


def test_fit_segment_model_breaks_size_ties_by_lower_label():
    sample = [basket(0, i) for i in range(5)] + [basket(1, i) for i in range(7)]
    sample += [basket(2, i) for i in range(5)]
    labels = [9] * 5 + [4] * 7 + [2] * 5
    model = segments.fit_segment_model(
        [f"t{i}" for i in range(17)],
        sample,
        FakeClusterer(labels, RADIUS),
        n_products=100,
        n_components=12,
        population=17,
        params={},
        fit_reason="test",
    )
    assert model.segment_of_label == {4: 0, 2: 1, 9: 2}


def test_the_clusterer_sees_the_unit_fold_in_of_the_baskets():
    clusterer = FakeClusterer(RAW_LABELS)
    model = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE,
        clusterer,
        n_products=100,
        n_components=3,
        population=21,
        params={},
        fit_reason="x",
    )
    assert clusterer.fitted_on.shape == (21, 3)
    np.testing.assert_allclose(np.linalg.norm(clusterer.fitted_on, axis=1), 1.0)
    # full rank: pairwise distances are those of the unit tf-idf rows
    full = fit_model()
    rows = tfidf_unit_rows(SAMPLE, list(full.factors.product_ids))
    features = full.features(SAMPLE)
    for i, j in [(0, 1), (0, 5), (13, 20), (4, 19)]:
        assert np.linalg.norm(features[i] - features[j]) == pytest.approx(
            np.linalg.norm(rows[i] - rows[j]), abs=1e-9
        )
    assert model.factors.n_components == 3


def test_fit_segment_model_id_is_content_derived_and_params_are_copied():
    params = dict(PARAMS)
    model = fit_model(params=params)
    assert model.segment_model_id == segments.model_id_for(SAMPLE_IDS, SAMPLE, PARAMS)
    params["min_cluster_size"] = 99
    assert model.params == PARAMS


def test_a_refit_reuses_the_previous_models_segment_ids():
    first = fit_model()
    assert first.next_segment_id == 3
    # the same customers, clustered again with other raw labels: 7 -> 1, 3 -> 8, 5 -> 4
    relabelled = [1] * 4 + [8] * 9 + [4] * 6 + [-1, -1]
    refit = fit_model(population=1300, fit_reason="refit requested", previous=first)
    assert refit.segment_of_label == first.segment_of_label
    moved = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE,
        FakeClusterer(relabelled, RADIUS),
        n_products=100,
        n_components=20,
        population=1300,
        params=PARAMS,
        fit_reason="refit requested",
        previous=first,
    )
    assert moved.segment_of_label == {8: 0, 4: 1, 1: 2}
    assert moved.matched_from == first.segment_model_id
    assert moved.next_segment_id == 3


def test_a_first_fit_can_start_its_ids_after_retired_ones():
    model = fit_model(first_segment_id=5)
    assert model.segment_of_label == {3: 5, 5: 6, 7: 7}
    assert model.next_segment_id == 8


def test_segment_labels_are_the_distinctive_words_of_what_the_segment_buys():
    model = fit_model()
    by_id = {p.segment_id: p for p in model.profiles}
    # group 1 (lunchbag) is segment 0; "item" is in every name and never a term,
    # nor is the category every product shares
    assert by_id[0].top_terms[0] == "lunchbag"
    assert by_id[1].top_terms[0] == "teacup"
    assert by_id[2].top_terms[0] == "candle"
    for profile in model.profiles:
        assert "item" not in profile.top_terms and "giftware" not in profile.top_terms
    assert len({p.label for p in model.profiles}) == 3
    assert by_id[2].top_products[0] in {NAMES[f"g0p{j}"] for j in range(4)}


def test_model_id_for_depends_on_sample_and_params_but_not_on_params_key_order():
    baskets = [["p1", "p2"], ["p3"]]
    base = segments.model_id_for(["a", "b"], baskets, {"x": 1, "y": 2})
    assert base == segments.model_id_for(["a", "b"], baskets, {"y": 2, "x": 1})
    assert base.startswith("seg-") and len(base) == len("seg-") + 16
    assert base != segments.model_id_for(["b", "a"], baskets, {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b"], baskets, {"x": 1, "y": 3})
    # what they bought counts, not the order it is listed in
    assert base == segments.model_id_for(["a", "b"], [["p2", "p1"], ["p3"]], {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b"], [["p1"], ["p2", "p3"]], {"x": 1, "y": 2})


def test_where_categories_differ_a_label_starts_with_the_segments_top_category():
    categories = {p: f"Aisle {p[1]}" for p in NAMES}  # one category per product group
    model = fit_model(categories=categories)
    labels = {p.segment_id: p.label for p in model.profiles}
    # segment 0 is group 1 and its two noise customers, who bought 3 products of
    # group 4 (ribbon) and 2 of group 3 (postcard), terms only segment 0 has
    assert labels == {
        0: "aisle 1: lunchbag, ribbon, postcard",
        1: "aisle 2: teacup",
        2: "aisle 0: candle",
    }


def test_the_factors_see_every_customer_and_the_clusterer_the_first_ones():
    # 21 sample customers, then 6 more of group 4 only the factors see: they
    # change the idf, and so the folded features of the clustered customers
    extra = [basket(4, i) for i in range(6)]
    every = SAMPLE + extra
    every_ids = SAMPLE_IDS + [f"x{i}" for i in range(6)]
    clusterer = FakeClusterer(RAW_LABELS, RADIUS)
    model = segments.fit_segment_model(
        every_ids,
        every,
        clusterer,
        n_products=100,
        n_components=N_COMPONENTS,
        population=27,
        params=PARAMS,
        fit_reason="x",
        names=NAMES,
        cluster_sample_size=len(SAMPLE),
    )
    assert clusterer.fitted_on.shape == (len(SAMPLE), model.factors.n_components)
    assert model.n_sample == len(SAMPLE)
    assert sum(p.sample_customers for p in model.profiles) == len(SAMPLE)
    assert model.segment_model_id == segments.model_id_for(every_ids, every, PARAMS)
    # full rank: the clustered features are the unit tf-idf rows with the idf of all 27
    rows = tfidf_unit_rows(SAMPLE, list(model.factors.product_ids), sample=every)
    for i, j in [(0, 1), (0, 5), (13, 20), (4, 19)]:
        assert np.linalg.norm(clusterer.fitted_on[i] - clusterer.fitted_on[j]) == pytest.approx(
            np.linalg.norm(rows[i] - rows[j]), abs=1e-9
        )
    alone = fit_model()  # the 21 alone: another idf, other distances
    assert not np.allclose(
        np.linalg.norm(alone.features(SAMPLE)[19] - alone.features(SAMPLE)[20]),
        np.linalg.norm(rows[19] - rows[20]),
    )


def _warehouse_of_profiles(customers: int) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse: `customers` profiles with a basket from SAMPLE's
    groups, two without purchases, and the catalog."""
    con = duckdb.connect()
    con.execute(
        "create table profiles (customer_id varchar, n_products int, product_ids varchar[])"
    )
    rows = [
        (f"c{i:03d}", len(b), b) for i, b in enumerate(basket(i % 3, i) for i in range(customers))
    ]
    rows += [("c900", 0, []), ("c901", 0, [])]
    con.executemany("insert into profiles values (?, ?, ?)", rows)
    con.execute(
        "create table products (product_id varchar, product_name varchar, category varchar)"
    )
    con.executemany(
        "insert into products values (?, ?, ?)", [(p, n, "Giftware") for p, n in NAMES.items()]
    )
    return con


def test_the_duckdb_fit_samples_the_first_customers_by_sha256_of_seed_and_id():
    con = _warehouse_of_profiles(40)
    settings = PipelineSettings.from_mapping(
        {
            "segment_fit_sample_size": 25,
            "segment_factor_sample_size": 30,
            "segment_min_cluster_size": 3,
            "segment_min_samples": 2,
        }
    )
    run = RunContext("run-1", datetime(2025, 3, 1, tzinfo=UTC))
    table = segment_fit.fit_segments(
        DuckDBFitQueries(con),
        profiles="profiles",
        products="products",
        this=None,
        settings=settings,
        run=run,
    )
    (row,) = table.to_pylist()
    assert (row["n_sample"], row["population_at_fit"], row["run_id"]) == (25, 40, "run-1")
    # brute force: every customer with purchases, by sha256("42:" + id), the
    # first 30 for the factors (the model id covers them), of them 25 clustered
    baskets = dict(con.execute("select customer_id, product_ids from profiles").fetchall())
    ranked = sorted(
        (c for c in baskets if baskets[c]),
        key=lambda c: (hashlib.sha256(f"42:{c}".encode()).hexdigest(), c),
    )[:30]
    params = json.loads(row["params"])
    del params["matched_from"], params["segment_of_label"]
    assert row["segment_model_id"] == segments.model_id_for(
        ranked, [baskets[c] for c in ranked], params
    )
    assert row["model_checksum"] == hashlib.sha256(row["model_blob"]).hexdigest()
    # the population has not grown: the next run fits nothing
    con.register("fitted", table)
    con.execute("create table previous as select * from fitted")
    again = segment_fit.fit_segments(
        DuckDBFitQueries(con),
        profiles="profiles",
        products="products",
        this="previous",
        settings=settings,
        run=run,
    )
    assert again.num_rows == 0 and again.schema == segment_fit.SEGMENT_MODEL_SCHEMA
