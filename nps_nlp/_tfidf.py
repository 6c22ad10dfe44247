"""A fitted scikit-learn ``TfidfVectorizer`` kept as plain data (options, vocabulary, idf vector) and applied with
the standard library and numpy, so that inference neither imports scikit-learn or scipy nor unpickles a model.

:class:`NgramTfidf` reproduces ``TfidfVectorizer.transform`` step by step for the options the lexical theme
model uses (``word``, ``char`` and ``char_wb`` analyzers, n-gram ranges, lowercasing, the token pattern, binary
or sublinear term frequencies, idf weights, l2 or no row norm). Every floating-point operation is the one
scikit-learn performs, in the same order (the row norm sums squares column by column, as scikit-learn's sparse
l2 normalisation does), so the features are bit-for-bit the same. Options it does not reproduce (accent
stripping, stop words, custom callables) are refused when the vectorizer is converted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["NgramTfidf", "Sparse", "sequential_row_sums"]

_ANALYZERS = ("word", "char", "char_wb")
_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's _VectorizerMixin._white_spaces


@dataclass
class Sparse:
    """Rows of a sparse matrix in CSR layout: row ``i`` holds ``data[indptr[i]:indptr[i+1]]`` at the (ascending)
    columns ``indices[indptr[i]:indptr[i+1]]``; ``n_columns`` is the matrix width."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_columns: int

    @staticmethod
    def hstack(parts: Sequence[Sparse]) -> Sparse:
        """The parts side by side (same rows), each row's columns still ascending: scipy's ``hstack(...).tocsr()``."""
        offsets = np.cumsum([0] + [p.n_columns for p in parts[:-1]])
        rows = [np.repeat(np.arange(len(p.indptr) - 1), np.diff(p.indptr)) for p in parts]
        row = np.concatenate(rows)
        order = np.argsort(row, kind="stable")  # by row; within a row, parts in order and columns ascending
        indices = np.concatenate([p.indices + off for p, off in zip(parts, offsets, strict=True)])[order]
        data = np.concatenate([p.data for p in parts])[order]
        indptr = np.zeros(len(parts[0].indptr), dtype=np.int64)
        for p in parts:
            indptr += p.indptr
        return Sparse(indptr, indices, data, int(sum(p.n_columns for p in parts)))

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``self @ weights`` for a dense ``[n_columns, k]`` matrix, summed as scipy's sparse product sums:
        starting at 0 and adding each stored entry's ``value * weights[column]`` in column order."""
        return sequential_row_sums(self.indptr, lambda part: self.data[part, None] * weights[self.indices[part]],
                                   weights.shape[1:])


def sequential_row_sums(indptr: np.ndarray, term: Any, shape: tuple[int, ...] = (), block: int = 1 << 15
                        ) -> np.ndarray:
    """Per CSR row, the left-to-right sum of the terms of its stored entries, rounded as a plain loop from 0
    rounds (scipy's sparse product, scikit-learn's row norm), not as numpy's pairwise summation does.

    Args:
        indptr: the rows' CSR offsets.
        term: ``term(slice)``: the terms of the entries in that slice, one array row per entry.
        shape: the shape of one term.
        block: about how many entries are expanded into terms at a time (a longer row goes alone).
    """
    n = len(indptr) - 1
    out = np.zeros((n, *shape), dtype=np.float64)
    start = 0
    while start < n:
        stop = min(max(int(np.searchsorted(indptr, indptr[start] + block, side="right")) - 1, start + 1), n)
        lo, hi = int(indptr[start]), int(indptr[stop])
        if hi > lo:
            out[start:stop] = _block_sums(term(slice(lo, hi)), indptr[start:stop + 1] - lo)
        start = stop
    return out


def _block_sums(terms: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """:func:`sequential_row_sums` of rows whose terms are all in ``terms`` (rows at ``offsets``). A few rows:
    one running sum (``np.add.accumulate``) per row; else entry position by entry position, the longest rows
    first so that the rows still going form a prefix: one vector addition per position."""
    lengths = np.diff(offsets)
    out = np.zeros((len(lengths), *terms.shape[1:]), dtype=np.float64)
    longest = int(lengths.max())
    if 2 * len(lengths) <= longest:
        for i, (a, b) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)):
            if b > a:
                out[i] = 0.0 + np.add.accumulate(terms[a:b], axis=0)[-1]
        return out
    order = np.argsort(-lengths, kind="stable")
    lens = lengths[order]
    active = np.searchsorted(-lens, -np.arange(longest), side="left")  # per position, the rows that reach it
    ends = np.cumsum(active)
    within = np.arange(int(ends[-1])) - np.repeat(ends - active, active)  # row (in ``order``) of each step entry
    by_position = terms[offsets[:-1][order][within] + np.repeat(np.arange(longest), active)]
    acc = np.zeros_like(out)
    for a, end in zip(active.tolist(), ends.tolist(), strict=True):
        acc[:a] += by_position[end - a:end]
    out[order] = acc
    return out


@dataclass
class NgramTfidf:
    """A fitted TF-IDF n-gram vectorizer as plain data; :meth:`transform` gives scikit-learn's features.

    Attributes:
        analyzer: ``word``, ``char`` or ``char_wb``.
        ngram_range: smallest and largest n.
        lowercase: whether texts are lowercased first.
        token_pattern: the word tokenizer's regular expression (``word`` only).
        binary: whether counts are clipped to 1.
        sublinear_tf: whether counts become ``1 + log(count)``.
        norm: ``"l2"`` or ``None`` (no row normalisation).
        vocabulary: n-gram -> column.
        idf: ``[n_columns]`` inverse document frequencies, ``None`` without idf weighting.
    """

    analyzer: str
    ngram_range: tuple[int, int]
    lowercase: bool
    token_pattern: str | None
    binary: bool
    sublinear_tf: bool
    norm: str | None
    vocabulary: dict[str, int]
    idf: np.ndarray | None
    _token_re: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.ngram_range = (int(self.ngram_range[0]), int(self.ngram_range[1]))
        if self.analyzer not in _ANALYZERS or self.norm not in ("l2", None):
            raise ValueError(f"unsupported TF-IDF options: analyzer={self.analyzer!r}, norm={self.norm!r}")
        if self.analyzer == "word":
            self._token_re = re.compile(str(self.token_pattern))
            if self._token_re.groups > 1:
                raise ValueError(f"token pattern {self.token_pattern!r} has more than one group")

    @classmethod
    def from_sklearn(cls, vectorizer: Any) -> NgramTfidf:
        """The plain form of a fitted ``TfidfVectorizer``, or of the attribute holder the pickle of one unpickles
        to without scikit-learn (the same attribute names; the idf vector is read from its ``_tfidf``).

        Raises:
            ValueError: an option this class does not reproduce is set.
        """
        v = vars(vectorizer)
        unsupported = {name: v.get(name) for name in ("preprocessor", "tokenizer", "stop_words", "strip_accents")
                       if v.get(name) is not None}
        if v.get("input", "content") != "content" or not isinstance(v.get("analyzer"), str):
            unsupported["input/analyzer"] = (v.get("input"), v.get("analyzer"))
        if v.get("dtype", np.float64) is not np.float64:
            unsupported["dtype"] = v.get("dtype")
        if unsupported:
            raise ValueError(f"TF-IDF options not reproduced without scikit-learn: {unsupported}")
        tfidf = vars(v["_tfidf"])
        idf = tfidf.get("idf_") if v.get("use_idf", True) else None
        return cls(analyzer=v["analyzer"], ngram_range=tuple(v["ngram_range"]), lowercase=bool(v["lowercase"]),
                   token_pattern=v.get("token_pattern"), binary=bool(v["binary"]),
                   sublinear_tf=bool(v["sublinear_tf"]), norm=v["norm"], vocabulary=dict(v["vocabulary_"]),
                   idf=None if idf is None else np.asarray(idf, dtype=np.float64))

    def options(self) -> dict[str, Any]:
        """The settings and the n-grams in column order, as JSON-able data (the idf vector is stored apart)."""
        terms = [""] * len(self.vocabulary)
        for term, column in self.vocabulary.items():
            terms[column] = term
        return {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range), "lowercase": self.lowercase,
                "token_pattern": self.token_pattern, "binary": self.binary, "sublinear_tf": self.sublinear_tf,
                "norm": self.norm, "use_idf": self.idf is not None, "terms": terms}

    @classmethod
    def from_options(cls, options: dict[str, Any], idf: np.ndarray | None) -> NgramTfidf:
        """The vectorizer :meth:`options` (and its idf vector) describe."""
        return cls(analyzer=options["analyzer"], ngram_range=tuple(options["ngram_range"]),
                   lowercase=bool(options["lowercase"]), token_pattern=options.get("token_pattern"),
                   binary=bool(options["binary"]), sublinear_tf=bool(options["sublinear_tf"]), norm=options["norm"],
                   vocabulary={term: i for i, term in enumerate(options["terms"])},
                   idf=idf if options.get("use_idf", True) else None)

    def analyze(self, doc: str) -> list[str]:
        """The n-grams of one text, as scikit-learn's analyzer lists them."""
        if self.lowercase:
            doc = doc.lower()
        lo, hi = self.ngram_range
        if self.analyzer == "word":
            return _word_ngrams(self._token_re.findall(doc), lo, hi)
        doc = _WHITE_SPACES.sub(" ", doc)
        if self.analyzer == "char":
            return [doc[i:i + n] for n in range(lo, min(hi + 1, len(doc) + 1)) for i in range(len(doc) - n + 1)]
        return _char_wb_ngrams(doc, lo, hi)

    def transform(self, texts: Sequence[str]) -> Sparse:
        """The TF-IDF features of ``texts``: counts of in-vocabulary n-grams, then the term-frequency transform,
        idf weights and row norm, computed as scikit-learn computes them."""
        rows, cols = self._hits(texts)
        width = len(self.vocabulary)
        keys, counts = np.unique(rows * width + cols, return_counts=True)
        row, indices = np.divmod(keys, width) if width else (keys, keys)
        data = counts.astype(np.float64)
        if self.binary:
            data.fill(1.0)
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[indices]
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=len(texts)), out=indptr[1:])
        if self.norm == "l2":
            norms = np.sqrt(sequential_row_sums(indptr, lambda part: data[part] * data[part]))
            norms[norms == 0.0] = 1.0  # empty rows stay empty
            data /= np.repeat(norms, np.diff(indptr))
        return Sparse(indptr, indices, data, width)


    def _hits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The row (text) and column of every in-vocabulary n-gram of ``texts`` (repeats kept, in no particular
        order within a text). The n-grams of ``char_wb`` stay inside words: each distinct word is looked up once
        per call and the texts' columns are put together from their words'."""
        lookup = self.vocabulary.get
        if self.analyzer != "char_wb":
            per_text = [[c for c in map(lookup, self.analyze(doc)) if c is not None] for doc in texts]
            sizes = [len(cols) for cols in per_text]
            cols = np.fromiter((c for hits in per_text for c in hits), dtype=np.int64, count=sum(sizes))
            return np.repeat(np.arange(len(texts), dtype=np.int64), sizes), cols
        lo, hi = self.ngram_range
        ids: dict[str, int] = {}
        word_cols: list[np.ndarray] = []
        tokens, n_tokens = [], []
        for doc in texts:
            words = _WHITE_SPACES.sub(" ", doc.lower() if self.lowercase else doc).split()
            for word in words:
                k = ids.get(word)
                if k is None:
                    k = ids[word] = len(word_cols)
                    word_cols.append(np.array([c for c in map(lookup, _char_wb_ngrams(word, lo, hi)) if c is not None],
                                              dtype=np.int64))
                tokens.append(k)
            n_tokens.append(len(words))
        if not tokens:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        per_token = np.array([len(c) for c in word_cols], dtype=np.int64)[tokens]
        token_row = np.repeat(np.arange(len(texts), dtype=np.int64), n_tokens)
        return np.repeat(token_row, per_token), np.concatenate([word_cols[k] for k in tokens])


def _word_ngrams(tokens: list[str], lo: int, hi: int) -> list[str]:
    """Word n-grams joined by a space: the tokens themselves for n = 1, then n = 2, ... (scikit-learn's order)."""
    out = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def _char_wb_ngrams(doc: str, lo: int, hi: int) -> list[str]:
    """Character n-grams inside words padded with a space, a word shorter than n counted once."""
    out: list[str] = []
    for word in doc.split():
        w = f" {word} "
        for n in range(lo, hi + 1):
            out.extend(w[i:i + n] for i in range(max(len(w) - n + 1, 1)))
            if len(w) <= n:
                break
    return out
