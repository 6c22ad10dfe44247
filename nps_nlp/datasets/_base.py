"""The common record every dataset reader produces, plus helpers shared by the readers."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nps_nlp.errors import DataFormatError

__all__ = ["POLARITIES", "Example", "train_dev_split"]

POLARITIES: tuple[str, str, str] = ("negative", "neutral", "positive")

# External spellings of a polarity. "conflict"/"mixed" are deliberately absent: the readers map them to None.
_POLARITY_ALIASES: dict[str, str] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
_NO_POLARITY = {"", "none", "null", "conflict", "mixed", "nan"}


@dataclass
class Example:
    """One piece of text with whatever labels its dataset provides.

    Attributes:
        text: the text itself.
        id: an identifier, unique within one loaded dataset.
        lang: ``"en"``, ``"nl"``, ``"nb"`` or ``"nn"``; None when unknown.
        score: NPS score 0-10 when known.
        sentiment: overall polarity, one of :data:`POLARITIES`; None when the data has none.
        themes: theme label -> polarity (one of :data:`POLARITIES`, or None when the data has the
            label but no polarity for it). None means "this dataset has no theme labels";
            ``{}`` means "labelled, and no theme applies".
        group: rows sharing a group (e.g. one review) always land in the same split.
        meta: anything else the source provides (source file, raw labels, extra columns, ...).
    """

    text: str
    id: str
    lang: str | None = None
    score: int | None = None
    sentiment: str | None = None
    themes: dict[str, str | None] | None = None
    group: str | None = None
    meta: dict = field(default_factory=dict)


def _hash_unit(key: str, seed: int) -> float:
    """Map ``key`` to a number in [0, 1) that is stable across runs, platforms and Python versions."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def train_dev_split(
    examples: Sequence[Example], dev_fraction: float = 0.2, seed: int = 13
) -> tuple[list[Example], list[Example]]:
    """Split examples into train and dev by a stable hash of their group.

    Every example is placed by ``sha256(seed, group or id)``, so all examples of one group land in
    the same split, and an example lands in the same split whatever the order or the other
    examples in the list. The dev share is ``dev_fraction`` in expectation (not exactly).

    Args:
        examples: the examples to split.
        dev_fraction: expected share of groups that go to dev, in [0, 1].
        seed: changes the assignment; the same seed always gives the same split.

    Returns:
        ``(train, dev)``, each in the input order.

    Raises:
        ValueError: ``dev_fraction`` is outside [0, 1].
    """
    if not 0.0 <= dev_fraction <= 1.0:
        raise ValueError(f"dev_fraction must be between 0 and 1, got {dev_fraction!r}")
    train: list[Example] = []
    dev: list[Example] = []
    for ex in examples:
        key = ex.group if ex.group is not None else ex.id
        (dev if _hash_unit(str(key), seed) < dev_fraction else train).append(ex)
    return train, dev


# ----------------------------------------------------------------------------------------------
# helpers shared by the readers (private)


def normalize_polarity(value: object, *, where: str) -> str | None:
    """Map an external polarity spelling to one of POLARITIES, or None for conflict/absent.

    Raises:
        DataFormatError: the value is not a known polarity.
    """
    if value is None:
        return None
    key = str(value).strip().lower()
    if key in _NO_POLARITY:
        return None
    if key in _POLARITY_ALIASES:
        return _POLARITY_ALIASES[key]
    raise DataFormatError(
        f"{where}: unknown polarity {value!r}; expected one of {', '.join(POLARITIES)} "
        "(or empty/'conflict' for no polarity)"
    )


def resolve_polarities(polarities: Iterable[str | None]) -> str | None:
    """Combine several polarities given to one theme into one.

    The most frequent polarity wins; a tie between different polarities (e.g. one positive and
    one negative opinion) gives None, like SemEval's own "conflict" label. Polarity-less entries
    (None) are ignored unless there is nothing else.
    """
    counts = Counter(p for p in polarities if p is not None)
    if not counts:
        return None
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def add_theme(
    collected: dict[str, list[str | None]], label: str, polarity: str | None
) -> None:
    """Record one (label, polarity) observation for later :func:`merge_themes`."""
    collected.setdefault(label, []).append(polarity)


def merge_themes(collected: dict[str, list[str | None]]) -> dict[str, str | None]:
    """Turn collected observations into a themes dict with :func:`resolve_polarities`."""
    return {label: resolve_polarities(pols) for label, pols in collected.items()}


def check_file(path: Path, what: str) -> None:
    """Raise DataFormatError unless ``path`` is an existing file."""
    if not path.exists():
        raise DataFormatError(f"{what} file not found: {path}")
    if not path.is_file():
        raise DataFormatError(f"expected a {what} file, found a directory: {path}")
