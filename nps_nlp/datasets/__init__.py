"""Dataset readers: every supported training/evaluation format becomes a list of :class:`Example`.

>>> from nps_nlp.datasets import load_examples, train_dev_split
>>> examples = load_examples("answers.csv", columns={"text": "comment"})  # doctest: +SKIP
>>> train, dev = train_dev_split(examples)  # doctest: +SKIP

Formats are listed in :data:`FORMATS`; :func:`load_examples` documents each one and its options.
"""

from __future__ import annotations

from nps_nlp.datasets._base import POLARITIES, Example, train_dev_split
from nps_nlp.datasets._registry import FORMATS, load_examples

__all__ = ["FORMATS", "POLARITIES", "Example", "load_examples", "train_dev_split"]
