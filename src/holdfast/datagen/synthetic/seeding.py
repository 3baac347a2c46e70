"""Seeded randomness: numpy generators keyed by (seed, stream...) and a counter-based
SplitMix64 hash, so a customer's identity is a pure function of (seed, customer index);
and the minute arithmetic the dates are drawn in."""

from __future__ import annotations

from datetime import date

import numpy as np

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_MIX1 = U64(0xBF58476D1CE4E5B9)
_MIX2 = U64(0x94D049BB133111EB)
_STREAM = U64(0xD1B54A32D192ED03)


def _seed_key(seed: int) -> int:
    return seed % (1 << 64)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([_seed_key(seed), *stream])


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> U64(30))) * _MIX1
    z = (z ^ (z >> U64(27))) * _MIX2
    return z ^ (z >> U64(31))


def customer_hash(seed: int, customers: np.ndarray, stream: int) -> np.ndarray:
    """Pseudo-random uint64 per customer index, independent per (seed, stream)."""
    key = _splitmix(np.array([_seed_key(seed)], dtype=np.uint64))[0]
    salt = _splitmix(np.array([stream], dtype=np.uint64) * _STREAM)[0]
    return _splitmix(_splitmix(customers.astype(np.uint64) ^ key) ^ salt)


def unit(hashes: np.ndarray) -> np.ndarray:
    return (hashes >> U64(11)).astype(np.float64) * (1.0 / (1 << 53))


def format_minutes(minutes: np.ndarray) -> list[str]:
    """Minutes since the Unix epoch -> ISO-8601 UTC strings like 2025-03-01T10:15:00Z."""
    text = np.datetime_as_string(minutes.astype("datetime64[m]"), unit="s")
    return [f"{value}Z" for value in text.tolist()]


def epoch_minutes(day: str) -> int:
    return (date.fromisoformat(day) - date(1970, 1, 1)).days * 24 * 60
