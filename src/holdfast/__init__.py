"""holdfast: a customer-AI pipeline (ingest, embed, segment, recommend) built to hold up."""

from __future__ import annotations

__version__ = "0.5.3"
