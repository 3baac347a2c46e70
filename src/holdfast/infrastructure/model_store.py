"""Fitted models as bytes in the warehouse, with an integrity check.

A fitted model (segments, recommender) is pickled into its model table next
to a sha256 of the bytes; loading refuses bytes whose checksum does not match.
Only load models this pipeline wrote: pickle executes code on load.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

from holdfast.application.segments import SegmentModel


def dump_model(model: Any) -> tuple[bytes, str]:
    """(bytes, sha256 hex) of a fitted model."""
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return blob, hashlib.sha256(blob).hexdigest()


def load_model(blob: bytes, checksum: str, expected: type = SegmentModel) -> Any:
    """The model in `blob` (an `expected` instance), after checking it against
    `checksum`."""
    actual = hashlib.sha256(blob).hexdigest()
    if actual != checksum:
        raise ValueError(f"model bytes are corrupt (sha256 {actual[:12]} != {checksum[:12]})")
    model = pickle.loads(blob)
    if not isinstance(model, expected):
        raise TypeError(f"expected a {expected.__name__}, got {type(model).__name__}")
    return model
