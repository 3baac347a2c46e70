"""The scale benchmark's sampler gives every dbt node a memory figure, even a
node shorter than the gap between two samples."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCALE = Path(__file__).resolve().parents[2] / "bench" / "scale.py"


def load_scale():
    spec = importlib.util.spec_from_file_location("bench_scale", SCALE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sampler_with(samples: list[tuple[float, int]]):
    sampler = load_scale().TreeSampler(pid=0, interval=0.2)
    sampler.samples = samples
    return sampler


def test_the_peak_is_the_highest_sample_inside_the_window():
    sampler = sampler_with([(10.0, 5), (10.2, 9), (10.4, 7), (10.6, 30)])
    assert sampler.peak(10.3, 10.45) == 9  # 10.2 is within one interval before start
    assert sampler.peak(10.45, 10.5) == 7
    assert sampler.peak() == 30


def test_a_step_between_two_late_samples_gets_the_nearest_one():
    # the sampler was late: nothing between 10.0 and 11.5
    sampler = sampler_with([(10.0, 5), (11.5, 8), (12.0, 3)])
    assert sampler.peak(11.0, 11.1) == 8  # nearer 11.5 than 10.0
    assert sampler.peak(10.3, 10.35) == 5
    assert sampler.peak(11.0, 11.1) > 0


def test_no_samples_means_no_figure():
    assert sampler_with([]).peak(1.0, 2.0) == 0
