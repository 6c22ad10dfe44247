"""Dataset readers: every supported training/evaluation format becomes a list of :class:`Example`.

>>> from nps_nlp.datasets import load_examples, train_dev_split
>>> examples = load_examples("answers.csv", columns={"text": "comment"})  # doctest: +SKIP
>>> train, dev = train_dev_split(examples)  # doctest: +SKIP

Formats are listed in :data:`FORMATS`; :func:`load_examples` documents each one and its options.
The cells of the project's own CSV/JSONL/Parquet format are read by the functions of
:mod:`nps_nlp.datasets.fields`; the files themselves by the library's streaming reader (:mod:`nps_nlp.tabular`).
"""

from __future__ import annotations

from nps_nlp.datasets._base import POLARITIES, Example, train_dev_split
from nps_nlp.datasets._registry import FORMATS, apply_label_map, format_of, load_examples, load_label_map
from nps_nlp.datasets._tabular import read_rows

__all__ = ["FORMATS", "POLARITIES", "Example", "apply_label_map", "format_of", "load_examples", "load_label_map",
           "read_rows", "train_dev_split"]
