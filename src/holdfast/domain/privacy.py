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
# bounded (a local part is at most 64 characters; longer runs keep their head,
# which holds no at sign), so a long run of letters cannot make the search
# quadratic; the SQL macro runs on RE2, which is linear, and needs no bound
EMAIL_PATTERN = re.compile(rf"{_ADDRESS_CHAR}{{1,64}}{_AT}{_ADDRESS_CHAR}{{0,255}}")


def mask_emails(text: str | None) -> str | None:
    """`text` with every e-mail address (or dangling `name@`) replaced by `<email>`."""
    if text is None:
        return None
    if "@" not in text and "0040" not in text:
        return text
    return EMAIL_PATTERN.sub(EMAIL_MASK, text)
