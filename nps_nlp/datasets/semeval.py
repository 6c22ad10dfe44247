"""SemEval aspect-based sentiment XML: SemEval-2016 Task 5 (sentence and text level) and SemEval-2014 Task 4.

SemEval-2016 (``<Reviews><Review rid><sentences><sentence id [OutOfScope]><text/><Opinions><Opinion
category polarity [target from to]/>``):

- Sentence level: one example per sentence; ``themes = {category: polarity}``; a sentence without
  opinions gives ``{}``. Sentences marked ``OutOfScope="TRUE"`` are skipped. ``group`` is the review
  ``rid``, so sentences of one review stay in one split. The raw opinions (category, polarity,
  target, offsets) are kept in ``meta["opinions"]``.
- Text level (the Dutch ``*_textlevel.xml`` file, whose ``<Review>`` carries its own ``<Opinions>``):
  one example per review, the text being its sentences joined by a space (out-of-scope sentences
  included: the review-level labels were given to the whole review). ``id`` and ``group`` are the
  ``rid``. A sentence-level file read at text level aggregates the opinions of its in-scope sentences.
- When one category gets several opinions with different polarities (in one sentence, or in one
  review when aggregating) the majority polarity wins; a tie gives None ("labelled, polarity unknown"),
  exactly like the dataset's own ``conflict`` label, which is also read as None.
- ``lang`` is ``"nl"`` when the file name contains ``dutch``, else ``"en"``, unless ``lang=`` is given.
- ``sentiment`` is None: SemEval has no overall sentence polarity.

SemEval-2014 (``<sentences><sentence id><text/><aspectCategories><aspectCategory category [polarity]/>``):
one example per sentence, ``themes = {category: polarity}`` with polarity None where absent or
``conflict``; ``group`` is the sentence id without its last ``#`` part (the review). Aspect terms are
kept in ``meta["aspect_terms"]``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Literal

from nps_nlp.datasets._base import Example, add_theme, check_file, merge_themes, normalize_polarity
from nps_nlp.errors import DataFormatError

__all__ = ["read_semeval2016", "read_semeval2014"]

Level = Literal["sentence", "text"]
_TEXTLEVEL_SUFFIX = "_textlevel"


def read_semeval2016(path: Path, *, lang: str | None = None, level: Level | None = None) -> list[Example]:
    """Read a SemEval-2016 Task 5 XML file, or every such file in a directory.

    Args:
        path: an XML file, or a directory: its ``*.xml`` files are read in name order. A directory
            holding both ``X.xml`` and ``X_textlevel.xml`` (the same reviews, labelled twice) uses
            only one of them: ``X.xml`` at sentence level (the default), ``X_textlevel.xml`` with
            ``level="text"``.
        lang: language of every example; default ``"nl"`` when the file name contains ``dutch``,
            else ``"en"``.
        level: ``"sentence"`` or ``"text"``; default ``"text"`` for a ``*_textlevel.xml`` file (or
            any file with review-level opinions only) and ``"sentence"`` otherwise.

    Returns:
        The examples, file by file in document order.

    Raises:
        DataFormatError: the file is missing, not XML, not SemEval-2016 (e.g. a SemEval-2014 or
            MAMS file), or a review/sentence lacks its id or text.
    """
    if level not in (None, "sentence", "text"):
        raise DataFormatError(f"level must be 'sentence', 'text' or None, got {level!r}")
    path = Path(path)
    if path.is_dir():
        examples: list[Example] = []
        for file in _semeval2016_files(path, level):
            examples.extend(_read_semeval2016_file(file, lang=lang, level=level))
        return examples
    return _read_semeval2016_file(path, lang=lang, level=level)


def read_semeval2014(path: Path, *, lang: str | None = "en") -> list[Example]:
    """Read a SemEval-2014 Task 4 XML file (aspect categories), or every ``*.xml`` in a directory.

    Args:
        path: an XML file or a directory of them (read in name order).
        lang: language of every example (default ``"en"``).

    Returns:
        One example per sentence.

    Raises:
        DataFormatError: the file is missing, not XML, or not in the SemEval-2014 structure.
    """
    return read_sentences_xml(path, dataset="semeval2014", lang=lang)


# ----------------------------------------------------------------------------------------------


def xml_files(directory: Path, what: str) -> list[Path]:
    """The ``*.xml`` files of a directory in name order; DataFormatError when there are none."""
    files = sorted(p for p in directory.glob("*.xml") if p.is_file())
    if not files:
        raise DataFormatError(f"{directory}: expected {what} *.xml files in this directory, found none")
    return files


def parse_xml(path: Path, what: str) -> ET.Element:
    """Parse an XML file, turning every failure into a DataFormatError naming the file and line."""
    check_file(path, what)
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as err:
        line, col = getattr(err, "position", (None, None))
        raise DataFormatError(
            f"{path}, line {line}, column {col}: expected {what} XML, could not parse it ({err})"
        ) from err


def _semeval2016_files(directory: Path, level: Level | None) -> list[Path]:
    files = xml_files(directory, "SemEval-2016")
    names = {f.name for f in files}
    chosen = []
    for f in files:
        is_text = f.stem.endswith(_TEXTLEVEL_SUFFIX)
        twin = (f.stem[: -len(_TEXTLEVEL_SUFFIX)] + ".xml") if is_text else (f.stem + _TEXTLEVEL_SUFFIX + ".xml")
        if twin in names and (is_text != (level == "text")):
            continue  # the same reviews are read from the twin file
        chosen.append(f)
    return chosen


def _default_lang(path: Path) -> str:
    return "nl" if "dutch" in path.name.lower() else "en"


def _read_semeval2016_file(path: Path, *, lang: str | None, level: Level | None) -> list[Example]:
    root = parse_xml(path, "SemEval-2016")
    if root.tag != "Reviews":
        hint = ""
        if root.tag == "sentences":
            hint = " (this looks like SemEval-2014 or MAMS: use format='semeval2014' or 'mams')"
        raise DataFormatError(f"{path}: expected SemEval-2016 XML with a <Reviews> root, found <{root.tag}>{hint}")
    lang = lang or _default_lang(path)
    has_sentence_ops = root.find("./Review/sentences/sentence/Opinions") is not None
    has_review_ops = root.find("./Review/Opinions") is not None
    if level is None:
        textlevel = path.stem.endswith(_TEXTLEVEL_SUFFIX) or (has_review_ops and not has_sentence_ops)
        level = "text" if textlevel else "sentence"

    examples: list[Example] = []
    for r_index, review in enumerate(root.iter("Review"), start=1):
        rid = review.get("rid")
        if not rid:
            raise DataFormatError(f"{path}: review #{r_index} has no rid attribute; expected <Review rid=\"...\">")
        sentences = []
        for s_index, sentence in enumerate(review.iter("sentence"), start=1):
            sid = sentence.get("id") or f"{rid}:{s_index}"
            text_el = sentence.find("text")
            if text_el is None:
                raise DataFormatError(
                    f"{path}: review {rid!r}, sentence {sid!r}: expected a <text> element, found none"
                )
            out_of_scope = (sentence.get("OutOfScope") or "").upper() == "TRUE"
            opinions = [_opinion(o, f"{path}: sentence {sid!r}") for o in sentence.iter("Opinion")]
            sentences.append((sid, text_el.text or "", out_of_scope, opinions))

        if level == "sentence":
            for sid, text, out_of_scope, opinions in sentences:
                if out_of_scope:
                    continue
                themes = _themes(opinions) if has_sentence_ops else None
                meta: dict[str, Any] = {"source_file": path.name, "opinions": opinions}
                examples.append(Example(text=text, id=sid, lang=lang, themes=themes, group=rid, meta=meta))
        else:
            review_ops_el = review.find("Opinions")
            if has_review_ops:
                review_ops = [] if review_ops_el is None else list(review_ops_el.iter("Opinion"))
                opinions = [_opinion(o, f"{path}: review {rid!r}") for o in review_ops]
            else:
                opinions = [o for _, _, oos, ops in sentences if not oos for o in ops]
            text = " ".join(t.strip() for _, t, _, _ in sentences if t.strip())
            meta = {"source_file": path.name, "opinions": opinions, "n_sentences": len(sentences)}
            themes = _themes(opinions) if (has_review_ops or has_sentence_ops) else None
            examples.append(Example(text=text, id=rid, lang=lang, themes=themes, group=rid, meta=meta))
    return examples


def _opinion(el: ET.Element, where: str) -> dict:
    category = el.get("category")
    if not category:
        raise DataFormatError(f"{where}: expected a category attribute on <{el.tag}>, found {dict(el.attrib)}")
    op: dict = {"category": category, "polarity": normalize_polarity(el.get("polarity"), where=where)}
    if el.get("polarity") is not None:
        op["raw_polarity"] = el.get("polarity")
    target = el.get("target")
    if target is not None:
        op["target"] = None if target == "NULL" else target
    if el.get("from") is not None and el.get("to") is not None:
        try:
            op["from"], op["to"] = int(el.get("from", "")), int(el.get("to", ""))
        except ValueError:
            raise DataFormatError(
                f"{where}: expected integer from/to offsets, found {el.get('from')!r}/{el.get('to')!r}"
            ) from None
    return op


def _themes(opinions: list[dict]) -> dict[str, str | None]:
    collected: dict[str, list[str | None]] = {}
    for op in opinions:
        add_theme(collected, op["category"], op["polarity"])
    return merge_themes(collected)


def read_sentences_xml(path: Path, *, dataset: str, lang: str | None) -> list[Example]:
    """Read the ``<sentences><sentence>`` XML shared by SemEval-2014 and MAMS (file or directory)."""
    path = Path(path)
    if path.is_dir():
        examples: list[Example] = []
        for file in xml_files(path, dataset):
            examples.extend(_read_sentences_file(file, dataset=dataset, lang=lang))
        return examples
    return _read_sentences_file(path, dataset=dataset, lang=lang)


def _read_sentences_file(path: Path, *, dataset: str, lang: str | None) -> list[Example]:
    label = {"semeval2014": "SemEval-2014", "mams": "MAMS"}.get(dataset, dataset)
    root = parse_xml(path, label)
    if root.tag != "sentences":
        hint = " (this looks like SemEval-2016: use format='semeval2016')" if root.tag == "Reviews" else ""
        raise DataFormatError(f"{path}: expected {label} XML with a <sentences> root, found <{root.tag}>{hint}")
    has_categories = root.find("./sentence/aspectCategories") is not None
    examples: list[Example] = []
    for index, sentence in enumerate(root.iter("sentence"), start=1):
        sid = sentence.get("id")
        where = f"{path}: sentence {sid!r}" if sid else f"{path}: sentence #{index}"
        text_el = sentence.find("text")
        if text_el is None:
            raise DataFormatError(f"{where}: expected a <text> element, found none")
        categories = [_opinion(o, where) for o in sentence.iter("aspectCategory")]
        meta: dict = {"source_file": path.name, "aspect_categories": categories}
        terms = [
            {k: (int(v) if k in ("from", "to") and v.lstrip("-").isdigit() else v) for k, v in t.attrib.items()}
            for t in sentence.iter("aspectTerm")
        ]
        if terms:
            meta["aspect_terms"] = terms
        if sid:
            ex_id = sid
            group = sid.rsplit("#", 1)[0] if dataset == "semeval2014" and "#" in sid else sid
        else:
            ex_id = group = f"{path.stem}:{index}"
        themes = _themes(categories) if has_categories else None
        examples.append(Example(text=text_el.text or "", id=ex_id, lang=lang, themes=themes, group=group, meta=meta))
    return examples
