"""`holdfast evaluate` arguments: bad input is refused with a clear message and code 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from holdfast.cli import build_parser, main
from holdfast.evaluation.command import (
    parse_blend_weights,
    parse_rp3beta,
    parse_vars,
    settings_from,
)


def args(*extra: str):
    return build_parser().parse_args(["evaluate", "data.parquet", *extra])


def test_vars_are_parsed_as_a_yaml_mapping():
    assert parse_vars("{min_confidence: 0.4, segment_refit: true}") == {
        "min_confidence": 0.4,
        "segment_refit": True,
    }
    assert parse_vars("") == {}


@pytest.mark.parametrize("text", ["[1, 2]", "42", "{a: [", "{landing_dir: /etc}"])
def test_vars_that_are_not_a_plain_mapping_or_set_the_landing_dir_are_refused(text):
    with pytest.raises(ValueError, match="--vars"):
        parse_vars(text)


def test_default_settings_are_the_validation_split():
    settings = settings_from(args())
    assert settings.split.name == "validation"
    assert settings.split.cutoff == date(2011, 8, 1)
    assert settings.split.test_end == date(2011, 10, 1)
    assert settings.k == 10 and settings.run_pipeline


def test_the_test_split_starts_where_validation_ends():
    validation = settings_from(args()).split
    test = settings_from(args("--split", "test")).split
    assert test.cutoff == validation.test_end


def test_overriding_the_cutoff_makes_a_custom_split():
    split = settings_from(args("--cutoff", "2011-03-01", "--horizon-days", "30")).split
    assert (split.name, split.cutoff, split.horizon_days) == ("custom", date(2011, 3, 1), 30)


@pytest.mark.parametrize(
    "extra",
    [
        ("--k", "0"),
        ("--knn-neighbours", "-1"),
        ("--calibration-min-hit-rate", "2"),
        ("--reuse-build",),
        ("--blend-weights", "1,2"),
        ("--blend-weights", "1,x,1,1"),
        ("--blend-weights", "0,0,0,0"),
        ("--ease-l2", "0"),
        ("--ease-l2", "nan"),
        ("--item-model-max-items", "-1"),
        ("--rp3beta", "1,0.5"),
        ("--rp3beta", "0,0.5,100"),
        ("--rp3beta", "1,0.5,-1"),
        ("--rp3beta", "1,0.5,2.5"),
    ],
)
def test_bad_options_are_refused(extra):
    with pytest.raises(ValueError):
        settings_from(args(*extra))


def test_blend_weights_are_four_numbers():
    weights = parse_blend_weights("1,0.5,0.9,0")
    assert weights.as_tuple() == (1.0, 0.5, 0.9, 0.0)


def test_item_model_settings_have_defaults_and_can_be_swept():
    defaults = settings_from(args())
    assert (defaults.ease_l2, defaults.rp3beta, defaults.item_model_max_items) == (
        250.0,
        (0.8, 0.5, 100),
        20_000,
    )
    swept = settings_from(
        args("--ease-l2", "500", "--rp3beta", "0.8,0.3,50", "--item-model-max-items", "0")
    )
    assert (swept.ease_l2, swept.rp3beta, swept.item_model_max_items) == (
        500.0,
        (0.8, 0.3, 50),
        0,
    )
    assert parse_rp3beta("1,0,0") == (1.0, 0.0, 0)


def test_a_missing_parquet_exits_2(tmp_path: Path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bad_vars_exit_2_before_any_work(tmp_path: Path, capsys):
    parquet = tmp_path / "x.parquet"
    parquet.write_bytes(b"not read")
    assert main(["evaluate", str(parquet), "--vars", "[1]"]) == 2
    assert "mapping" in capsys.readouterr().err
