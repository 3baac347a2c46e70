"""Offline evaluation: temporal split of real purchases, baselines, the pipeline's own
recommendations, ranking metrics and a confidence calibration table."""
