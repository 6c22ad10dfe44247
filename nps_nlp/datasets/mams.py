"""MAMS aspect-category sentiment (MAMS-ACSA) XML.

Structure: ``<sentences><sentence><text/><aspectCategories><aspectCategory category="food"
polarity="positive"/>``. One example per sentence, ``themes = {category: polarity}``, ``lang="en"``,
``sentiment=None``. MAMS sentences carry no id: ``id`` (and ``group``) is ``"<file stem>:<n>"`` with
``n`` counting sentences from 1, e.g. ``"train:1"``. The raw categories are kept in
``meta["aspect_categories"]``.
"""

from __future__ import annotations

from pathlib import Path

from nps_nlp.datasets._base import Example
from nps_nlp.datasets.semeval import read_sentences_xml

__all__ = ["read_mams"]


def read_mams(path: Path, *, lang: str | None = "en") -> list[Example]:
    """Read a MAMS-ACSA XML file, or every ``*.xml`` file of a directory (in name order).

    Args:
        path: ``train.xml``/``val.xml``/``test.xml`` or the directory holding them.
        lang: language of every example (default ``"en"``).

    Returns:
        One example per sentence.

    Raises:
        DataFormatError: the file is missing, not XML, or not in the MAMS structure.
    """
    return read_sentences_xml(path, dataset="mams", lang=lang)
