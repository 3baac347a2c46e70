"""Every dbt var the Python models read, checked, with its default.

Each field of a settings group is one var of `dbt_project.yml` (named in the
field's metadata, with the same default: tests/unit/test_settings.py keeps the
two in step). dbt has no `var()` for Python models: the vars reach them as one
config dict, `settings`, rendered in python_models/inference/_inference__models.yml
(numbers, booleans or text, as dbt renders them). `PipelineSettings.from_mapping`
turns such a dict (var name -> value; a missing var takes its default) into
checked, typed values; a value out of range stops the model with a message
naming the var.
Callers outside dbt (tests, the Spark harness) build `PipelineSettings()` or
`from_mapping` the vars they change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, Self

from holdfast.domain.scoring import ScoringWeights
from holdfast.infrastructure.clustering import HdbscanClusterer


def _setting(var: str, default: Any, *, minimum: float = 0, choices: tuple[str, ...] = ()) -> Any:
    """A field bound to the dbt var `var`; its value is coerced to the type of
    `default` and checked (numbers >= minimum, text one of choices)."""
    return field(default=default, metadata={"var": var, "minimum": minimum, "choices": choices})


def _int(name: str, value: Any, minimum: float) -> int:
    try:
        number = int(float(str(value)))
    except (TypeError, ValueError):
        raise ValueError(f"config {name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"config {name} must be >= {minimum:g}, got {number}")
    return number


def _float(name: str, value: Any, minimum: float) -> float:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        raise ValueError(f"config {name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < minimum:
        raise ValueError(f"config {name} must be a finite number >= {minimum:g}, got {number}")
    return number


def _bool(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", "none", ""}:
        return False
    raise ValueError(f"config {name} must be true or false, got {value!r}")


def _text(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not choices:
        return str(value)
    text = str(value).strip()
    if text not in choices:
        raise ValueError(f"config {name} must be one of {', '.join(choices)}, got {value!r}")
    return text


def _checked(setting: Field, value: Any) -> Any:
    name, default = setting.metadata["var"], setting.default
    if isinstance(default, bool):
        return _bool(name, value)
    if isinstance(default, int):
        return _int(name, value, setting.metadata["minimum"])
    if isinstance(default, float):
        return _float(name, value, setting.metadata["minimum"])
    return _text(name, value, setting.metadata["choices"])


def _var_fields(cls: Any) -> Iterator[Field]:
    return (f for f in fields(cls) if "var" in f.metadata)


def _given(cls: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Field name -> value for the vars of `cls` that `values` holds."""
    return {
        f.name: values[f.metadata["var"]] for f in _var_fields(cls) if f.metadata["var"] in values
    }


class _Settings:
    """A group of settings: each var-bound field is checked when it is built."""

    def __post_init__(self) -> None:
        for setting in _var_fields(self):
            object.__setattr__(self, setting.name, _checked(setting, getattr(self, setting.name)))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Self:
        """The group from var name -> value (vars not in `values` keep their default)."""
        return cls(
            **{
                f.name: values[f.metadata["var"]]
                for f in _var_fields(cls)
                if f.metadata["var"] in values
            }
        )


@dataclass(frozen=True)
class EmbeddingSettings(_Settings):
    # the text encoder: an auto:, packaged:, packaged-bf16: or path: spec (infrastructure.encoder)
    model: str = _setting("embedding_model", "auto:all-MiniLM-L6-v2")


@dataclass(frozen=True)
class InferenceSettings(_Settings):
    """What every record-by-record step shares: batches, retries, dead letters, workers."""

    batch_size: int = _setting("inference_batch_size", 256, minimum=1)
    max_retries: int = _setting("inference_max_retries", 3)
    initial_backoff_seconds: float = _setting("inference_initial_backoff_seconds", 1.0)
    # runs a record may fail before it is dead-lettered (not retried again)
    max_failed_runs: int = _setting("dead_letter_max_attempts", 5, minimum=1)
    # worker processes for segment assignment and scoring (1 = in the dbt process)
    processes: int = _setting("inference_processes", 2, minimum=1)


@dataclass(frozen=True)
class SegmentSettings(_Settings):
    """The segment model fit (purchase factors + HDBSCAN on a sample) and its refit policy."""

    fit_sample_size: int = _setting("segment_fit_sample_size", 50000, minimum=10)
    # customers the purchase factors are fitted on (the fit sample and more)
    factor_sample_size: int = _setting("segment_factor_sample_size", 100000, minimum=10)
    # 0: derived from the sample size (domain.segmentation.auto_min_cluster_size)
    min_cluster_size: int = _setting("segment_min_cluster_size", 0)
    min_samples: int = _setting("segment_min_samples", 10, minimum=1)
    feature_products: int = _setting("segment_feature_products", 2000, minimum=2)
    feature_components: int = _setting("segment_feature_components", 8, minimum=1)
    cluster_selection: str = _setting(
        "segment_cluster_selection", "leaf", choices=HdbscanClusterer.SELECTION_METHODS
    )
    refit: bool = _setting("segment_refit", False)
    refit_growth: float = _setting("segment_refit_growth", 1.0)


@dataclass(frozen=True)
class RecommenderSettings(_Settings):
    """The recommender fit (neighbour lists, affinities, pools) and its refit policy."""

    fit_sample_size: int = _setting("recommender_fit_sample_size", 200000, minimum=1)
    copurchase_neighbours: int = _setting("recommender_copurchase_neighbours", 100, minimum=1)
    semantic_neighbours: int = _setting("recommender_semantic_neighbours", 20)
    reverse_cap: int = _setting("recommender_reverse_cap", 200, minimum=1)
    pool_size: int = _setting("recommender_pool_size", 50, minimum=1)
    # EASE^R on the most-bought products (0: none): its dense maths costs two
    # ease_max_items² float32 matrices and ease_max_items³ operations per fit
    ease_max_items: int = _setting("recommender_ease_max_items", 5000)
    ease_l2: float = _setting("recommender_ease_l2", 250.0, minimum=1e-6)
    ease_neighbours: int = _setting("recommender_ease_neighbours", 100, minimum=1)
    refit: bool = _setting("recommender_refit", False)
    refit_growth: float = _setting("recommender_refit_growth", 0.25)


@dataclass(frozen=True)
class ScoringSettings(_Settings):
    """How candidates are scored: how many per customer, and the confidence blend."""

    candidates_per_customer: int = _setting("recommendation_candidates_per_customer", 30, minimum=1)
    weight_copurchase: float = _setting("recommendation_weight_copurchase", 0.2)
    weight_semantic: float = _setting("recommendation_weight_semantic", 0.15)
    weight_segment: float = _setting("recommendation_weight_segment", 0.0)
    weight_popularity: float = _setting("recommendation_weight_popularity", 0.3)
    weight_ease: float = _setting("recommendation_weight_ease", 0.35)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weights  # noqa: B018 - the blend is checked when the settings are built

    @property
    def weights(self) -> ScoringWeights:
        """The confidence blend (checked: >= 0, summing to 1)."""
        return ScoringWeights(
            copurchase=self.weight_copurchase,
            semantic=self.weight_semantic,
            segment=self.weight_segment,
            popularity=self.weight_popularity,
            ease=self.weight_ease,
        )


_GROUPS = {
    "embedding": EmbeddingSettings,
    "inference": InferenceSettings,
    "segments": SegmentSettings,
    "recommender": RecommenderSettings,
    "scoring": ScoringSettings,
}


@dataclass(frozen=True)
class PipelineSettings(_Settings):
    """All settings of the Python models, by group."""

    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    segments: SegmentSettings = field(default_factory=SegmentSettings)
    recommender: RecommenderSettings = field(default_factory=RecommenderSettings)
    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    # the seed of the fit samples (segments and recommender)
    random_seed: int = _setting("random_seed", 42)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> PipelineSettings:
        """The settings from var name -> value, as dbt renders the config `settings`
        (vars not in `values` keep their default; other keys are ignored)."""
        values = values or {}
        groups = {name: group.from_mapping(values) for name, group in _GROUPS.items()}
        own = {
            f.name: values[f.metadata["var"]]
            for f in _var_fields(cls)
            if f.metadata["var"] in values
        }
        return cls(**groups, **own)


def var_defaults() -> dict[str, Any]:
    """Every dbt var the Python models read, with its default here."""
    bound = [f for group in (*_GROUPS.values(), PipelineSettings) for f in _var_fields(group)]
    return {f.metadata["var"]: f.default for f in bound}
