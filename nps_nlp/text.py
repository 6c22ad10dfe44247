"""Splitting answers into sentences and clauses, with character offsets.

A clause is the unit of evidence: a theme's sentiment is read from the clause that talks about it
("Great staff | but the invoice was wrong again"). Sentences come from spaCy's rule-based sentencizer
(``spacy.blank(lang)``: no trained pipeline is needed); clauses are cut inside sentences at contrastive
conjunctions, semicolons, commas and "and"-style coordination between longer parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Segment", "split_clauses", "split_sentences"]

# Words that open a new clause, per language. Norwegian (nb and nn) share one list.
_CONTRAST = {
    "en": "but however although though yet whereas except unfortunately apart otherwise only still",
    "nl": "maar echter hoewel alhoewel ofschoon behalve jammer helaas alleen wel toch daarentegen anders",
    "no": "men dessverre likevel selv sjølv enda bortsett unntatt bare berre derimot ellers skjønt",
}
_AND = {"en": "and also plus", "nl": "en ook plus", "no": "og også og", "other": "and"}


@dataclass(frozen=True)
class Segment:
    """A piece of an answer with its character offsets (``text == answer[start:end]``)."""

    text: str
    start: int
    end: int


def _sentence_punctuation() -> frozenset[str]:
    from spacy.pipeline.sentencizer import Sentencizer

    return frozenset(Sentencizer.default_punct_chars)


_SENT_PUNCT = _sentence_punctuation()
_SENT_PUNCT_STR = "".join(sorted(_SENT_PUNCT))


@lru_cache(maxsize=8)
def _nlp(lang: str) -> Any:
    import spacy

    code = {"nn": "nb", "no": "nb"}.get(lang, lang)
    try:
        nlp = spacy.blank(code)
    except Exception:  # unknown language code: a multilingual tokenizer is good enough here
        nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    return nlp


def _family(lang: str | None) -> str:
    if lang in ("nb", "nn", "no"):
        return "no"
    return lang if lang in ("en", "nl") else "en"


def split_sentences(text: str, lang: str | None = None) -> list[Segment]:
    """Split an answer into sentences (also at line breaks).

    Args:
        text: the answer.
        lang: ``nl``, ``nb``, ``nn``, ``en`` or anything else (treated as English punctuation rules).

    Returns:
        Non-empty segments with offsets into ``text``.
    """
    core = text.rstrip().rstrip(_SENT_PUNCT_STR)
    if any(ch in _SENT_PUNCT for ch in core):
        sents = [(sent.start_char, sent.text) for sent in _nlp(_family(lang))(text).sents]
    else:  # no sentence punctuation inside: one sentence, no need to run spaCy (most NPS answers)
        sents = [(0, text)]
    out: list[Segment] = []
    for start, sent_text in sents:
        for part in re.split(r"(\n+)", sent_text):
            if part.strip() and not part.startswith("\n"):
                lead = len(part) - len(part.lstrip())
                body = part.strip()
                out.append(Segment(body, start + lead, start + lead + len(body)))
            start += len(part)
    return out


@lru_cache(maxsize=8)
def _clause_pattern(family: str) -> re.Pattern[str]:
    contrast = "|".join(sorted(set(_CONTRAST[family].split()), key=len, reverse=True))
    # split before a contrastive word, or after ; : , and dashes
    return re.compile(rf"(?:[;:]|,|\s[-–—]\s|\.\.+)\s*|\s(?=(?:{contrast})\b)", re.IGNORECASE)


def split_clauses(text: str, lang: str | None = None, min_words: int = 1) -> list[Segment]:
    """Split an answer into clauses with offsets.

    Args:
        text: the answer.
        lang: language code (selects the conjunction lists).
        min_words: a piece shorter than this is merged into its neighbour.

    Returns:
        Segments in text order covering every word of ``text``; one segment for a one-clause answer,
        none for an empty one.
    """
    family = _family(lang)
    pattern = _clause_pattern(family)
    and_words = set(_AND.get(family, _AND["other"]).split())
    clauses: list[Segment] = []
    for sent in split_sentences(text, lang):
        pieces: list[tuple[int, int]] = []
        pos = 0
        for m in pattern.finditer(sent.text):
            pieces.append((pos, m.start()))
            pos = m.end()
        pieces.append((pos, len(sent.text)))
        # "X and Y" splits only when both sides are real clauses (>= 3 words): "fast and friendly" stays.
        refined: list[tuple[int, int]] = []
        for a, b in pieces:
            chunk = sent.text[a:b]
            cut = a
            for m in re.finditer(r"(?<=\s)(\w+)(?=\s)", chunk):
                if m.group(1).lower() in and_words:
                    left = sent.text[cut : a + m.start()].split()
                    right = chunk[m.end() :].split()
                    if len(left) >= 3 and len(right) >= 3:
                        refined.append((cut, a + m.start()))
                        cut = a + m.start()
            refined.append((cut, b))
        for a, b in refined:
            piece = sent.text[a:b]
            body = piece.strip(" ,;:-–—.")
            if not body.strip():
                continue
            lead = piece.find(body)
            start = sent.start + a + lead
            seg = Segment(body, start, start + len(body))
            if clauses and len(body.split()) < min_words and clauses[-1].end <= seg.start:
                prev = clauses.pop()
                seg = Segment(text[prev.start : seg.end], prev.start, seg.end)
            clauses.append(seg)
    return clauses
