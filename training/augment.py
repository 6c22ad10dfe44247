"""Word-by-word translation of labelled answers: labels in one language, a model for the others too.

An analyst who labelled English answers and also receives Dutch or Norwegian ones adds ``data.translate =
["en-nl"]`` to the training config: every English training answer is then also trained on as a word-by-word
Dutch rendering with the same labels. The multilingual encoder already carries much of an English label
over to Dutch; the rough translations close part of the rest (figures: ``benchmarks/accuracy.py semeval_en
--translate en-nl`` and ``seed_crosslingual``, in ``benchmarks/RESULTS.md``).

A dictionary is a UTF-8 text file, one word per line: ``source<TAB>target`` (the target may be several
words), ``#`` starts a comment. Its name says the direction: ``en-nl.tsv`` translates English answers into
Dutch. The shipped dictionaries (``training/dictionaries/``: :func:`shipped_dictionaries`) cover the
commonest words of customer feedback; an analyst's own file (``data.translate = ["my-words/en-nb.tsv"]``)
adds the words of their domain. Only training answers are translated, never the dev data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from nps_nlp.datasets import Example
from nps_nlp.errors import ConfigError

DICTIONARIES = Path(__file__).parent / "dictionaries"
LANGUAGES = ("en", "nl", "nb", "nn")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def shipped_dictionaries() -> list[str]:
    """Names of the dictionaries that ship with nps-nlp (``en-nl``, ...)."""
    return sorted(p.stem for p in DICTIONARIES.glob("*.tsv"))


def dictionary_path(name: str | Path) -> Path:
    """The file of a shipped dictionary name (``"en-nl"``) or a path; the name must read ``SRC-TGT``.

    Raises:
        ConfigError: no such dictionary, or its name does not say the direction.
    """
    path = Path(name)
    if path.suffix != ".tsv" and not path.exists():
        path = DICTIONARIES / f"{name}.tsv"
    if not path.is_file():
        raise ConfigError(f"data.translate: no dictionary {str(name)!r}; use a shipped one "
                          f"({', '.join(shipped_dictionaries())}) or a file named SRC-TGT.tsv")
    direction(path)
    return path


def direction(path: str | Path) -> tuple[str, str]:
    """``(source, target)`` languages from a dictionary's file name (``en-nl.tsv`` -> ``("en", "nl")``)."""
    source, sep, target = Path(path).stem.partition("-")
    if not sep or source not in LANGUAGES or target not in LANGUAGES or source == target:
        raise ConfigError(f"data.translate: {Path(path).name} must be named SRC-TGT.tsv with two different languages "
                          f"of {', '.join(LANGUAGES)} (e.g. en-nl.tsv: English answers into Dutch)")
    return source, target


def load_dictionary(path: str | Path) -> dict[str, str]:
    """Read a ``source<TAB>target`` dictionary; source words are matched case-insensitively.

    Raises:
        ConfigError: a line without a tab, with an empty side, or a source word given twice (with its line).
    """
    words: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, sep, target = line.partition("\t")
        source, target = source.strip().lower(), " ".join(target.split())
        where = f"{Path(path).name} line {number}"
        if not sep or not source or not target:
            raise ConfigError(f"{where}: expected 'source<TAB>target', found {line!r}")
        if source in seen:
            raise ConfigError(f"{where}: {source!r} is already translated on line {seen[source]}; keep one")
        seen[source] = number
        words[source] = target
    if not words:
        raise ConfigError(f"{Path(path).name}: no 'source<TAB>target' lines")
    return words


def translate_words(text: str, dictionary: Mapping[str, str]) -> str:
    """Replace each word found in ``dictionary`` (case-insensitive, the capital of a first letter kept); words not
    in it, numbers, punctuation and spacing stay as they are."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        target = dictionary.get(word.lower().replace("’", "'"))
        if target is None:
            return word
        return target[:1].upper() + target[1:] if word[:1].isupper() else target

    return _WORD.sub(swap, text)


def load_dictionaries(dictionaries: Iterable[str | Path]) -> dict[tuple[str, str], dict[str, str]]:
    """``{(source, target): words}`` from dictionary names or files: dictionaries of one direction are merged in
    order, a later one winning where both have a word (the shipped words plus an analyst's own)."""
    merged: dict[tuple[str, str], dict[str, str]] = {}
    for name in dictionaries:
        path = dictionary_path(name)
        merged.setdefault(direction(path), {}).update(load_dictionary(path))
    return merged


def coverage(texts: Iterable[str], words: Mapping[str, str], top: int = 15) -> tuple[float, list[str]]:
    """Share of the word tokens of ``texts`` that ``words`` translates, and the commonest words it lacks (the
    ones worth adding to an own dictionary)."""
    known = total = 0
    missing: Counter[str] = Counter()
    for text in texts:
        for match in _WORD.finditer(text):
            word = match.group(0).lower().replace("’", "'")
            total += 1
            if word in words:
                known += 1
            else:
                missing[word] += 1
    return (known / total if total else 0.0), [w for w, _ in missing.most_common(top)]


def translate_examples(examples: Iterable[Example], dictionaries: Mapping[tuple[str, str], Mapping[str, str]]
                       ) -> list[Example]:
    """Word-by-word translations of the examples in each dictionary's source language, labels kept.

    ``dictionaries``: from :func:`load_dictionaries`. Each translation gets the target language, the id
    ``<id>~<target>`` and the original's group (so a split by group never separates an answer from its
    translation). Translations that come out unchanged (no word known) are left out.
    """
    examples = list(examples)
    out: list[Example] = []
    for (source, target), words in dictionaries.items():
        for e in examples:
            if e.lang != source:
                continue
            text = translate_words(e.text, words)
            if text != e.text:
                out.append(replace(e, text=text, lang=target, id=f"{e.id}~{target}", group=e.group or e.id,
                                   meta={**e.meta, "translated_from": e.id}))
    return out
