"""The segment fit sample is ordered in SQL; its key must equal the domain's."""

from __future__ import annotations

import duckdb

from holdfast.domain.segmentation import SAMPLE_RANK_SQL, sample_rank_key


def test_sql_sample_order_matches_the_domain_definition():
    ids = ["5b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "cust-1", "é-unicode", ""]
    con = duckdb.connect()
    con.execute("create table customers (customer_id varchar)")
    con.executemany("insert into customers values (?)", [[i] for i in ids])
    rows = con.execute(f"select customer_id, {SAMPLE_RANK_SQL} from customers", ["42"]).fetchall()
    assert {c: key for c, key in rows} == {c: sample_rank_key(c, 42) for c in ids}
