"""Segment labels from what each segment buys, distinctively.

Class-based TF-IDF (c-TF-IDF, as BERTopic labels topics): all purchases of a
segment's customers are one document, its terms the words of the bought
products' names; where the catalog has more than one category, the categories
are ranked the same way, as terms of their own.
A term's weight in segment c is

    W(t, c) = tf(t, c) · log(1 + A / f(t))

with tf(t, c) the term's frequency in c divided by c's total term count, A
the average number of terms per segment and f(t) the term's frequency over
all segments: a term frequent in the segment and rare elsewhere ranks first.
Only terms over-represented in the segment (a larger share of its terms than
of all terms) are ranked. A label is the segment's most distinctive category, where there is one,
followed by its top name terms (LABEL_TERMS of them; a plural of a term already
taken is skipped): "bags: lunch, jumbo, retrospot". Two segments never share a
label: a segment whose label is taken (segments in id order) takes its next
terms until it is distinct. A term every product has (a word in every name, a
category all products share) is never used. The same weights over product ids
give each segment's most distinctive products.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

LABEL_TERMS = 3
TOP_PRODUCTS = 3
MIN_TERM_LENGTH = 3

# words that name no product trait (English function words and sizes/quantities
# every catalog has)
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "over",
        "set",
        "sets",
        "the",
        "to",
        "with",
        "without",
        "x",
        "pcs",
        "pack",
        "assorted",
    ]
)

_WORD = re.compile(r"[a-z]+")


def name_terms(name: str) -> list[str]:
    """The distinct words of a product name that can label it, in order: lower
    case letters only, at least MIN_TERM_LENGTH long, no stop word."""
    seen: list[str] = []
    for word in _WORD.findall(name.lower()):
        if len(word) >= MIN_TERM_LENGTH and word not in STOP_WORDS and word not in seen:
            seen.append(word)
    return seen


def product_terms(names: Mapping[str, str]) -> dict[str, list[str]]:
    """Product id -> the terms of its name; a term every product has is dropped."""
    terms = {product: name_terms(name or "") for product, name in names.items()}
    if len(terms) > 1:
        shared = set.intersection(*(set(words) for words in terms.values()))
        if shared:
            terms = {p: [w for w in words if w not in shared] for p, words in terms.items()}
    return terms


def category_terms(categories: Mapping[str, str]) -> dict[str, list[str]]:
    """Product id -> its category as one lower-case term, when the products have
    more than one category (else none: a category every product shares says
    nothing about a segment)."""
    cleaned = {p: (c or "").strip().lower() for p, c in categories.items()}
    if len({c for c in cleaned.values() if c}) < 2:
        return {}
    return {p: [c] for p, c in cleaned.items() if c}


def class_tfidf(counts: np.ndarray) -> np.ndarray:
    """c-TF-IDF weights of a (classes x terms) count matrix:
    tf(t, c) · log(1 + A / f(t)), tf normalised by the class's total count,
    A the average total count per class, f(t) the term's count over all
    classes. Terms no class has and classes with no terms weigh 0."""
    counts = np.asarray(counts, dtype=np.float64)
    per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(per_class > 0, per_class, 1.0)
    frequency = counts.sum(axis=0)
    average = float(per_class.mean()) if counts.size else 0.0
    with np.errstate(divide="ignore"):
        idf = np.where(frequency > 0, np.log1p(average / np.where(frequency > 0, frequency, 1)), 0)
    return tf * idf[None, :]


def over_represented(counts: np.ndarray) -> np.ndarray:
    """(classes x terms) mask: the term's share of the class's terms is above
    its share of all terms (a term every segment buys alike names none)."""
    counts = np.asarray(counts, dtype=np.float64)
    per_class = counts.sum(axis=1, keepdims=True)
    share = counts / np.where(per_class > 0, per_class, 1.0)
    total = counts.sum()
    overall = counts.sum(axis=0) / total if total > 0 else np.zeros(counts.shape[1])
    return share > overall[None, :]


def ranked_terms(weights: np.ndarray, terms: Sequence[str]) -> list[list[str]]:
    """Per class, its terms with a positive weight, heaviest first (ties by term)."""
    ranked = []
    for row in np.asarray(weights, dtype=np.float64):
        positive = [j for j in range(len(terms)) if row[j] > 0]
        ranked.append([terms[j] for j in sorted(positive, key=lambda j: (-row[j], terms[j]))])
    return ranked


def _singular(term: str) -> str:
    return term[:-1] if term.endswith("s") and len(term) > MIN_TERM_LENGTH else term


def without_plural_repeats(terms: Sequence[str]) -> list[str]:
    """`terms` in order, less any whose singular (a trailing s dropped) is an
    earlier term's."""
    seen: set[str] = set()
    kept = []
    for term in terms:
        if _singular(term) not in seen:
            seen.add(_singular(term))
            kept.append(term)
    return kept


def distinct_labels(
    ranked: Sequence[Sequence[str]],
    segment_ids: Sequence[int],
    n_terms: int = LABEL_TERMS,
    prefixes: Sequence[str | None] | None = None,
) -> list[str]:
    """One label per segment (in the given order): its prefix (its top
    category) and ": ", then its first `n_terms` terms joined by ", ",
    extended by its next terms while another segment before it has that
    label; "Segment N" (plus the terms) when its terms run out."""
    used: set[str] = set()
    labels = []
    prefixes = prefixes or [None] * len(segment_ids)
    for terms, segment_id, prefix in zip(ranked, segment_ids, prefixes, strict=True):
        head = f"{prefix}: " if prefix else ""
        take = min(n_terms, len(terms))
        label = head + ", ".join(terms[:take])
        while (not terms[:take] or label in used) and take < len(terms):
            take += 1
            label = head + ", ".join(terms[:take])
        if not terms[:take] or label in used:
            label = f"Segment {segment_id}" + (f" ({label.rstrip(': ')})" if label else "")
        used.add(label)
        labels.append(label)
    return labels


def segment_term_counts(
    baskets: Sequence[Sequence[str]],
    segments: np.ndarray,
    segment_ids: Sequence[int],
    terms_of: Mapping[str, Sequence[str]],
) -> tuple[np.ndarray, list[str]]:
    """(segments x terms) counts: each purchase of a product adds its terms to
    its buyer's segment. Terms sorted; segments in `segment_ids` order."""
    vocabulary = sorted({t for words in terms_of.values() for t in words})
    column = {t: j for j, t in enumerate(vocabulary)}
    row = {s: i for i, s in enumerate(segment_ids)}
    counts = np.zeros((len(segment_ids), len(vocabulary)))
    for basket, segment in zip(baskets, np.asarray(segments).tolist(), strict=True):
        i = row.get(int(segment))
        if i is None:
            continue
        for product in basket:
            for term in terms_of.get(product, ()):
                counts[i, column[term]] += 1
    return counts, vocabulary
