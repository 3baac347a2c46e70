"""holdfast.settings: the Python models' settings agree with dbt_project.yml's vars,
no var is orphaned, and a value out of range is refused with its var named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from holdfast.settings import (
    InferenceSettings,
    PipelineSettings,
    ScoringSettings,
    SegmentSettings,
    var_defaults,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_VARS = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
BINDINGS = PROJECT_ROOT / "python_models" / "inference" / "_inference__models.yml"


def sql_and_yaml_text() -> str:
    """Everything dbt compiles besides the Python models: models, macros, data tests."""
    paths = [
        path
        for folder in ("models", "macros", "tests/dbt")
        for path in sorted((PROJECT_ROOT / folder).rglob("*"))
        if path.suffix in {".sql", ".yml"}
    ]
    return "\n".join(path.read_text() for path in paths)


def test_every_python_default_equals_the_dbt_project_var():
    defaults = var_defaults()
    assert defaults, "PipelineSettings binds no var"
    for name, default in defaults.items():
        assert name in PROJECT_VARS, f"{name} is not declared in dbt_project.yml"
        assert PROJECT_VARS[name] == default, name
        assert type(PROJECT_VARS[name]) is type(default), name


def test_the_defaults_build_the_settings_dbt_would_pass():
    assert PipelineSettings.from_mapping(PROJECT_VARS) == PipelineSettings()
    assert PipelineSettings.from_mapping({}) == PipelineSettings()
    assert PipelineSettings.from_mapping(None) == PipelineSettings()


def test_every_var_is_read_by_the_python_models_or_by_sql():
    text = sql_and_yaml_text()
    python = set(var_defaults())
    for name in PROJECT_VARS:
        in_sql = re.search(rf"""\b(checked_)?var\(\s*['"]{name}['"]""", text) or re.search(
            rf"""['"]{name}['"]""", text
        )  # a var name handed to a macro that reads it (checked_var(name_var))
        assert name in python or in_sql, f"var {name} is read by nothing"


def test_the_python_models_are_bound_to_every_var_they_read():
    """The config dict `settings` of the Python models names each var once."""
    anchors = yaml.safe_load(BINDINGS.read_text())["anchors"]
    (bound,) = [anchor for anchor in anchors if "embedding_model" in anchor]
    assert set(bound) == set(var_defaults())
    for name, value in bound.items():
        assert value == f"{{{{ var('{name}') }}}}", name
    models = yaml.safe_load(BINDINGS.read_text())["models"]
    assert models and all(model["config"]["settings"] == bound for model in models)


def test_values_rendered_as_strings_are_typed():
    settings = PipelineSettings.from_mapping(
        {
            "inference_batch_size": "64",
            "inference_initial_backoff_seconds": "0.5",
            "segment_refit": "True",
            "recommender_refit": "false",
            "segment_cluster_selection": " eom ",
            "recommendation_weight_copurchase": "0.5",
            "recommendation_weight_semantic": "0.2",
            "recommendation_weight_popularity": "0.3",
            "recommendation_weight_ease": "0",
            "recommender_ease_l2": "12.5",
            "random_seed": "7",
            "landing_dir": "not a Python setting",
        }
    )
    assert settings.inference.batch_size == 64
    assert settings.inference.initial_backoff_seconds == 0.5
    assert settings.segments.refit is True
    assert settings.recommender.refit is False
    assert settings.segments.cluster_selection == "eom"
    assert settings.scoring.weights.copurchase == 0.5
    assert settings.scoring.weights.ease == 0.0
    assert settings.recommender.ease_l2 == 12.5
    assert settings.random_seed == 7


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("inference_batch_size", "0", "config inference_batch_size must be >= 1"),
        ("inference_max_retries", "many", "config inference_max_retries must be an integer"),
        ("inference_initial_backoff_seconds", "-1", "must be a finite number >= 0"),
        ("inference_initial_backoff_seconds", "nan", "must be a finite number >= 0"),
        ("dead_letter_max_attempts", "0", "config dead_letter_max_attempts must be >= 1"),
        ("inference_processes", "0", "config inference_processes must be >= 1"),
        ("segment_fit_sample_size", "9", "config segment_fit_sample_size must be >= 10"),
        ("segment_cluster_selection", "best", "must be one of leaf, eom"),
        ("segment_refit", "sometimes", "config segment_refit must be true or false"),
        ("recommender_pool_size", "0", "config recommender_pool_size must be >= 1"),
        ("recommendation_candidates_per_customer", "0", "must be >= 1"),
        ("recommendation_weight_copurchase", "0.9", "scoring weights must be >= 0 and sum to 1"),
        ("recommendation_weight_ease", "-0.1", "config recommendation_weight_ease must be"),
        ("recommender_ease_l2", "0", "config recommender_ease_l2 must be a finite number"),
        ("recommender_ease_neighbours", "0", "config recommender_ease_neighbours must be >= 1"),
        ("recommender_ease_max_items", "-1", "config recommender_ease_max_items must be >= 0"),
    ],
)
def test_a_value_out_of_range_is_refused_with_its_var_named(var, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PipelineSettings.from_mapping({var: value})


def test_a_group_is_checked_when_it_is_built_directly():
    with pytest.raises(ValueError, match="inference_batch_size"):
        InferenceSettings(batch_size=0)
    with pytest.raises(ValueError, match="segment_min_samples"):
        SegmentSettings(min_samples=0)
    with pytest.raises(ValueError, match="sum to 1"):
        ScoringSettings(weight_segment=0.5)


def test_settings_are_immutable():
    settings = PipelineSettings()
    with pytest.raises(AttributeError):
        settings.random_seed = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.inference.batch_size = 1  # type: ignore[misc]
