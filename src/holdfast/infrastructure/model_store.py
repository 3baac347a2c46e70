"""Fitted models as bytes in the warehouse, with an integrity check.

A fitted model (segments, recommender) is pickled into its model table next
to a sha256 of the bytes; loading refuses bytes whose checksum does not match.
Only load models this pipeline wrote: pickle executes code on load.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from typing import Any

from holdfast.application.segments import SegmentModel

# the id column of each model table: the tie-breaker between fits of one instant
SEGMENT_MODEL_ID = "segment_model_id"
RECOMMENDER_MODEL_ID = "recommender_model_id"


def newest_model_sql(relation: str, columns: Sequence[str], id_column: str) -> str:
    """A query for `columns` of the newest fit in a model table (or a view of
    one): the latest `fitted_at`, and between fits of the same instant the
    larger id, so every reader and every rerun picks the same fit. The same
    order as the SQL side (dim_segments, macro keep_latest_model_blobs)."""
    return (
        f"select {', '.join(columns)} from {relation} "
        f"order by fitted_at desc, {id_column} desc limit 1"
    )


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
