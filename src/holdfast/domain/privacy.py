"""E-mail masking for text that leaves the warehouse for people.

The same rule as the dbt macro `mask_emails`: a run of address characters, an
at sign written as `@` or as the JSON escape `\\u0040` (any case of the `u`),
then the domain's characters, which may be none (a local part left dangling
where a text was cut). Backslashes count as address characters, so escaped
characters inside an address (`\\u002e`) are masked with it. Masking is
idempotent: the mask token holds no at sign.
"""

from __future__ import annotations

import re

EMAIL_MASK = "<email>"

_ADDRESS_CHAR = r"[^\s\"@,;:<>()\[\]]"
_AT = r"(?:@|\\[uU]0040)"
EMAIL_PATTERN = re.compile(rf"{_ADDRESS_CHAR}+{_AT}{_ADDRESS_CHAR}*")


def mask_emails(text: str | None) -> str | None:
    """`text` with every e-mail address (or dangling `name@`) replaced by `<email>`."""
    if text is None:
        return None
    return EMAIL_PATTERN.sub(EMAIL_MASK, text)
