"""NoReC Norwegian review sentences: NoReC_sentence (labels) and NoReC_fine (opinion spans).

NoReC_sentence (``[{"sent_id": "000123-04-02", "text": "...", "label": "Positive"}, ...]``, in a
``3class`` or ``binary`` folder): ``sentiment`` is the label (Positive/Negative/Neutral), ``themes=None``.

NoReC_fine (``[{"sent_id": ..., "text": ..., "opinions": [{"Source": [[texts], ["from:to"]],
"Target": ..., "Polar_expression": ..., "Polarity": "Positive", "Intensity": "Standard", ...}]}]``):
``sentiment`` is derived from the opinions: none -> neutral; all positive -> positive; all negative ->
negative; mixed -> the polarity with the higher summed intensity (Slight=1, Standard=2, Strong=3;
missing intensity counts as Standard), a tie -> neutral. The opinions are kept in ``meta["opinions"]``
as ``{"polarity", "intensity", "target", "polar_expression", "source", ...}`` where each span list
holds ``{"text", "from", "to"}`` character offsets into the returned (detokenised) text.

Both: ``lang="nb"`` (nynorsk sentences are not told apart here), ``group`` is the document id (the
part of ``sent_id`` before the first ``-``) so that sentences of one review stay in one split, and
the texts, which the release tokenised ("bra , men"), are detokenised by :func:`detokenize` unless
``detokenize=False``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from nps_nlp.datasets._base import Example, check_file, normalize_polarity
from nps_nlp.errors import DataFormatError

__all__ = ["detokenize", "read_norec", "read_norec_fine"]

_CLOSING = set(".,:;?!…)]}»")  # attach to the token before
_OPENING = set("([{«“")  # the token after attaches to these
_APOSTROPHES = {"'", "’"}
_CONTRACTION_TAILS = {"s", "t", "d", "m", "en", "re", "ll", "ve", "n"}
_INTENSITY = {"slight": 1, "standard": 2, "strong": 3}


def detokenize(text: str) -> str:
    """Undo the whitespace tokenisation of NoReC texts.

    Removes the space before closing punctuation (``. , : ; ? ! … ) ] } »``) and after opening
    brackets and quotes (``( [ { « “``); straight double quotes ``"`` (and ``”``) alternate
    between opening and closing; apostrophes attach to the word before (and to a following
    ``s``/``t``/``en``/... tail); a ``-suffix`` right after a closing quote or bracket attaches
    to it. Dashes, slashes, ``&`` and ``%`` keep their spaces. Runs of whitespace become one space.

    Args:
        text: tokenised text, e.g. ``'Han sa « hei » ( og gikk ) .'``.

    Returns:
        The text with normal spacing, e.g. ``'Han sa «hei» (og gikk).'``.
    """
    return _detokenize_with_map(text)[0]


def _detokenize_with_map(text: str) -> tuple[str, list[int]]:
    """Detokenise and return, for every position 0..len(text) of the input, its new position."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    tokens = [text[a:b] for a, b in spans]
    glue_before = [False] * len(tokens)  # no space between token i-1 and token i
    straight_open = False
    curly_open = False
    quote_role: list[str | None] = [None] * len(tokens)
    for i, tok in enumerate(tokens):
        if tok == '"' or (tok == "”" and not curly_open):
            quote_role[i] = "close" if straight_open else "open"
            straight_open = not straight_open
        elif tok == "“":
            quote_role[i] = "open"
            curly_open = True
        elif tok == "”":
            quote_role[i] = "close"
            curly_open = False
    for i in range(1, len(tokens)):
        tok, prev = tokens[i], tokens[i - 1]
        if quote_role[i] == "close":
            glue_before[i] = True
        elif quote_role[i - 1] == "open" or (prev and all(c in _OPENING for c in prev)):
            glue_before[i] = True
        elif all(c in _CLOSING for c in tok):
            glue_before[i] = True
        elif tok in _APOSTROPHES and prev[-1:].isalnum():
            glue_before[i] = True
        elif prev in _APOSTROPHES and tok.lower() in _CONTRACTION_TAILS and glue_before[i - 1]:
            glue_before[i] = True
        elif re.fullmatch(r"-\w+", tok) and (quote_role[i - 1] == "close" or prev in {")", "»", "]"}):
            glue_before[i] = True

    out: list[str] = []
    mapping = [0] * (len(text) + 1)
    pos = 0
    prev_end = 0
    for i, ((a, b), tok) in enumerate(zip(spans, tokens, strict=True)):
        if i > 0 and not glue_before[i]:
            out.append(" ")
            pos += 1
        for k in range(prev_end, a):  # whitespace before this token maps to the token start
            mapping[k] = pos
        for k in range(a, b):
            mapping[k] = pos + (k - a)
        out.append(tok)
        pos += len(tok)
        prev_end = b
    for k in range(prev_end, len(text) + 1):
        mapping[k] = pos
    return "".join(out), mapping


def read_norec(
    path: Path,
    *,
    variant: Literal["3class", "binary"] = "3class",
    detokenize: bool = True,
    lang: str | None = "nb",
) -> list[Example]:
    """Read NoReC_sentence JSON.

    Args:
        path: a ``train.json``/``dev.json``/``test.json`` file; a folder holding such ``*.json``
            files (all are read, in name order); or the dataset root holding ``3class/`` and
            ``binary/`` folders, in which case the ``variant`` folder is read (the binary set is
            the 3-class set without its neutral sentences, so the two are never combined).
        variant: which folder to read from the dataset root.
        detokenize: undo the release's tokenisation (see :func:`detokenize`).
        lang: language of every example (default ``"nb"``).

    Returns:
        One example per sentence; ``meta`` has ``source_file`` and ``split`` (the file stem).

    Raises:
        DataFormatError: no JSON files found, invalid JSON, a record without ``text``/``label``,
            an unknown label, or a NoReC_fine file (use ``format="norec_fine"``).
    """
    examples: list[Example] = []
    for file in _norec_files(Path(path), variant):
        for index, rec in _records(file, "NoReC_sentence"):
            where = f"{file}, record {index}"
            if "label" not in rec:
                hint = " (this looks like NoReC_fine: use format='norec_fine')" if "opinions" in rec else ""
                raise DataFormatError(f"{where}: expected a 'label' field, found fields {sorted(rec)}{hint}")
            sentiment = normalize_polarity(rec["label"], where=where)
            if sentiment is None:
                raise DataFormatError(f"{where}: expected label Positive, Negative or Neutral, found {rec['label']!r}")
            text, sent_id = _text_and_id(rec, where, detokenize)
            examples.append(
                Example(
                    text=text,
                    id=sent_id,
                    lang=lang,
                    sentiment=sentiment,
                    themes=None,
                    group=_document_id(sent_id),
                    meta={"source_file": file.name, "split": file.stem},
                )
            )
    return examples


def read_norec_fine(path: Path, *, detokenize: bool = True, lang: str | None = "nb") -> list[Example]:
    """Read NoReC_fine JSON and derive a sentence-level sentiment from its opinions.

    Args:
        path: a ``train.json``/``dev.json``/``test.json`` file or a folder of them (all ``*.json``
            files are read, in name order).
        detokenize: undo the release's tokenisation; opinion offsets are moved to match.
        lang: language of every example (default ``"nb"``).

    Returns:
        One example per sentence, with ``meta["opinions"]``, ``source_file`` and ``split``.

    Raises:
        DataFormatError: no JSON files found, invalid JSON, a record without ``text`` or
            ``opinions``, or malformed spans.
    """
    path = Path(path)
    files = _json_files(path, "NoReC_fine") if path.is_dir() else [path]
    examples: list[Example] = []
    for file in files:
        for index, rec in _records(file, "NoReC_fine"):
            where = f"{file}, record {index}"
            if not isinstance(rec.get("opinions"), list):
                hint = " (this looks like NoReC_sentence: use format='norec')" if "label" in rec else ""
                raise DataFormatError(f"{where}: expected an 'opinions' list, found fields {sorted(rec)}{hint}")
            raw_text = rec.get("text")
            if not isinstance(raw_text, str):
                raise DataFormatError(f"{where}: expected a string 'text', found {type(raw_text).__name__}")
            if detokenize:
                text, mapping = _detokenize_with_map(raw_text)
            else:
                text, mapping = raw_text, list(range(len(raw_text) + 1))
            opinions = [
                _opinion(op, raw_text, text, mapping, f"{where}, opinion {k}")
                for k, op in enumerate(rec["opinions"], 1)
            ]
            sent_id = str(rec.get("sent_id") or f"{file.stem}:{index}")
            examples.append(
                Example(
                    text=text,
                    id=sent_id,
                    lang=lang,
                    sentiment=_sentence_sentiment(opinions),
                    themes=None,
                    group=_document_id(sent_id),
                    meta={"source_file": file.name, "split": file.stem, "opinions": opinions},
                )
            )
    return examples


# ----------------------------------------------------------------------------------------------


def _json_files(directory: Path, what: str) -> list[Path]:
    files = sorted(p for p in directory.glob("*.json") if p.is_file())
    if not files:
        raise DataFormatError(f"{directory}: expected {what} *.json files in this directory, found none")
    return files


def _norec_files(path: Path, variant: str) -> list[Path]:
    if not path.is_dir():
        return [path]
    if any(p.is_file() for p in path.glob("*.json")):
        return _json_files(path, "NoReC_sentence")
    if variant not in ("3class", "binary"):
        raise DataFormatError(f"variant must be '3class' or 'binary', got {variant!r}")
    sub = path / variant
    if sub.is_dir():
        return _json_files(sub, f"NoReC_sentence ({variant})")
    found = sorted(p.name for p in path.iterdir())
    raise DataFormatError(
        f"{path}: expected NoReC_sentence *.json files or a {variant!r} folder, found: {', '.join(found) or 'nothing'}"
    )


def _records(file: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    check_file(file, what)
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise DataFormatError(
            f"{file}, line {err.lineno}: expected {what} JSON, could not parse it ({err.msg})"
        ) from err
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{file}: expected UTF-8 {what} JSON, could not decode it ({err})") from err
    if not isinstance(data, list):
        raise DataFormatError(f"{file}: expected a JSON list of sentence records, found {type(data).__name__}")
    out = []
    for index, rec in enumerate(data, start=1):
        if not isinstance(rec, dict):
            raise DataFormatError(f"{file}, record {index}: expected a JSON object, found {type(rec).__name__}")
        out.append((index, rec))
    return out


def _text_and_id(rec: dict[str, Any], where: str, detok: bool) -> tuple[str, str]:
    text = rec.get("text")
    if not isinstance(text, str):
        raise DataFormatError(f"{where}: expected a string 'text', found {type(text).__name__}")
    sent_id = rec.get("sent_id")
    if sent_id is None or sent_id == "":
        raise DataFormatError(f"{where}: expected a 'sent_id', found none")
    return (detokenize(text) if detok else text), str(sent_id)


def _document_id(sent_id: str) -> str:
    return sent_id.split("-", 1)[0]


def _spans(value: Any, raw_text: str, text: str, mapping: list[int], where: str) -> list[dict]:
    """Turn ``[[texts], ["from:to", ...]]`` into ``[{"text", "from", "to"}]`` on the returned text."""
    if value is None:
        return []
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, list) for v in value)):
        raise DataFormatError(f"{where}: expected a span as [[texts], ['from:to', ...]], found {value!r}")
    spans = []
    for offsets in value[1]:
        try:
            a, b = (int(x) for x in str(offsets).split(":"))
        except ValueError:
            raise DataFormatError(f"{where}: expected an offset 'from:to', found {offsets!r}") from None
        if not 0 <= a <= b <= len(raw_text):
            raise DataFormatError(f"{where}: offset {offsets!r} is outside the text (length {len(raw_text)})")
        new_a = mapping[a]
        new_b = mapping[b - 1] + 1 if b > a else new_a
        spans.append({"text": text[new_a:new_b], "from": new_a, "to": new_b})
    return spans


def _opinion(op: Any, raw_text: str, text: str, mapping: list[int], where: str) -> dict:
    if not isinstance(op, dict):
        raise DataFormatError(f"{where}: expected an opinion object, found {type(op).__name__}")
    out: dict = {
        "polarity": normalize_polarity(op.get("Polarity"), where=where),
        "intensity": op.get("Intensity"),
    }
    for key, name in (("Target", "target"), ("Polar_expression", "polar_expression"), ("Source", "source")):
        out[name] = _spans(op.get(key), raw_text, text, mapping, f"{where}, {key}")
    for key, name in (
        ("Target_is_general", "target_is_general"),
        ("Source_is_author", "source_is_author"),
        ("NOT", "negated"),
        ("Type", "type"),
    ):
        if key in op:
            out[name] = op[key]
    return out


def _sentence_sentiment(opinions: list[dict]) -> str:
    weight = {"positive": 0, "negative": 0}
    for op in opinions:
        if op["polarity"] in weight:
            weight[op["polarity"]] += _INTENSITY.get(str(op.get("intensity") or "").lower(), 2)
    if weight["positive"] == weight["negative"]:
        return "neutral"
    return "positive" if weight["positive"] > weight["negative"] else "negative"
