"""A Unigram tokenizer model in a fraction of the memory of ``tokenizers``' own, with the same tokens.

``tokenizers``' Unigram model looks pieces up in a byte trie whose every node holds a hash map; over the 250k
pieces of the XLM-R vocabulary (multilingual-e5-small's) that structure is several times the size of the pieces
themselves, and a tagging job or a service holds it for its whole life. :class:`UnigramSegmenter` does the same
segmentation from a plain dictionary of the pieces: the Viterbi search of ``Unigram::encode_optimized`` in
``tokenizers`` (the same candidates in the same order, the same tie-breaking, unknown characters scored
``min_score - 10`` and consecutive unknowns fused into one token), so a text gets the same tokens, ids and offsets.

It runs inside the fast tokenizer as its last pre-tokenizer step and hands each word's tokens to ``tokenizers``
(:meth:`tokenizers.PreTokenizedString.tokenize`), which then skips its model; normalisation, offsets through the
normalisation, special tokens, truncation and padding stay with ``tokenizers``. :func:`compact_unigram_tokenizer`
loads a ``tokenizer.json`` that way.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["UnigramSegmenter", "compact_unigram_tokenizer"]

UNK_PENALTY = 10.0
"""How much lower than the lowest piece an unknown character scores (``K_UNK_PENALTY`` in ``tokenizers``)."""


class UnigramSegmenter:
    """Splits a pre-tokenized word into its most likely pieces, as ``tokenizers``' Unigram model does.

    Args:
        pieces: the vocabulary's pieces in id order.
        scores: their log probabilities, in the same order.
        unk_id: the id of the unknown token.
        cache_size: words whose tokens are remembered (the most frequent words come back all the time); the cache
            stops growing when full, so its memory is bounded.

    Raises:
        ValueError: ``unk_id`` is not an id of the vocabulary.
    """

    def __init__(self, pieces: Iterable[str], scores: Iterable[float], unk_id: int, *,
                 cache_size: int = 10_000) -> None:
        # a piece that occurs twice takes its last id, as in tokenizers' map from piece to id
        self.ids = {piece: i for i, piece in enumerate(pieces) if piece}
        self.scores = array("d", scores)  # float64, as tokenizers keeps them
        if not 0 <= unk_id < len(self.scores):
            raise ValueError(f"unk_id {unk_id} is not in a vocabulary of {len(self.scores)} pieces")
        self.unk_id = unk_id
        self.unk_score = min(self.scores) - UNK_PENALTY
        self.longest = max(map(len, self.ids))
        self.cache_size = cache_size
        self._cache: dict[str, list[Any]] = {}

    def pre_tokenize(self, pretok: Any) -> None:
        """The pre-tokenizer hook: tokenize every split of ``pretok`` (a ``tokenizers.PreTokenizedString``)."""
        pretok.tokenize(self.tokens)

    def tokens(self, word: str) -> list[Any]:
        """The ``tokenizers.Token`` list of one word (offsets in bytes, into the word)."""
        from tokenizers import Token

        found = self._cache.get(word)
        if found is None:
            found = self._tokenize(word)
            if len(self._cache) < self.cache_size:
                self._cache[word] = found
        return [Token(*token) for token in found]

    def segment(self, word: str) -> list[str]:
        """The pieces of ``word`` (consecutive unknown characters as one piece)."""
        return [value for _, value, _ in self._tokenize(word)]

    def _tokenize(self, word: str) -> list[tuple[int, str, tuple[int, int]]]:
        pieces = self._best_path(word)
        out, offset = [], 0
        for piece in pieces:
            end = offset + len(piece.encode("utf-8"))
            out.append((self.ids.get(piece, self.unk_id), piece, (offset, end)))
            offset = end
        return out

    def _best_path(self, word: str) -> list[str]:
        """Viterbi over the character positions of ``word``: for each end, the best-scoring piece that ends there
        (candidates from each start, shortest first; a later candidate must score strictly higher)."""
        n = len(word)
        ids, scores, unk_id, unk_score = self.ids, self.scores, self.unk_id, self.unk_score
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        chosen = [unk_id] * (n + 1)
        for i in range(n):
            here = best[i]
            single = False
            for j in range(i + 1, min(n, i + self.longest) + 1):
                piece = ids.get(word[i:j])
                if piece is None:
                    continue
                score = scores[piece] + here
                if start[j] < 0 or score > best[j]:
                    best[j], start[j], chosen[j] = score, i, piece
                single = single or j == i + 1
            if not single and (start[i + 1] < 0 or unk_score + here > best[i + 1]):
                best[i + 1], start[i + 1], chosen[i + 1] = unk_score + here, i, unk_id
        pieces: list[str] = []
        unknown: list[str] = []  # consecutive unknowns, last first, fused into one piece
        end = n
        while end > 0:
            begin = start[end]
            if chosen[end] == unk_id:
                unknown.append(word[begin:end])
            else:
                if unknown:
                    pieces.append("".join(reversed(unknown)))
                    unknown = []
                pieces.append(word[begin:end])
            end = begin
        if unknown:
            pieces.append("".join(reversed(unknown)))
        pieces.reverse()
        return pieces


def compact_unigram_tokenizer(path: str | Path) -> Any | None:
    """Load the fast tokenizer of a model directory with a :class:`UnigramSegmenter` in place of its Unigram model.

    The ``tokenizer.json`` is read once; its model is replaced by a word-level model of the special tokens only (at
    their ids), so the Unigram model's trie is never built, and the segmenter joins the pre-tokenizer after the
    ``Metaspace`` split.

    Args:
        path: a directory with ``tokenizer.json`` (and ``tokenizer_config.json``).

    Returns:
        The ``transformers`` fast tokenizer, or ``None`` when the tokenizer is not a Unigram model with a
        ``Metaspace`` pre-tokenizer and no byte fallback (load it as usual then). It encodes as the original does;
        its own vocabulary holds only the special tokens, so it cannot turn other ids back into text (decoding), and
        it cannot be saved (a Python pre-tokenizer step has no serialisation).
    """
    from tokenizers import Tokenizer
    from tokenizers.pre_tokenizers import PreTokenizer, Sequence
    from transformers import AutoTokenizer

    path = Path(path)
    try:
        spec = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback") or model.get("unk_id") is None \
            or pre.get("type") != "Metaspace":
        return None
    vocab, unk_id = model["vocab"], int(model["unk_id"])
    if not 0 <= unk_id < len(vocab):
        return None
    # the pieces leave the parsed JSON as one string and their lengths, and become strings of their own only once
    # the JSON's short-lived objects are gone: made among them, they would keep its memory pools half full
    joined, lengths = "".join(piece for piece, _ in vocab), array("I", (len(piece) for piece, _ in vocab))
    scores = array("d", (score for _, score in vocab))
    unk = vocab[unk_id][0]
    specials = {token["content"]: token["id"] for token in spec.get("added_tokens", []) if token.get("special")}
    specials.setdefault(unk, unk_id)
    spec["model"] = {"type": "WordLevel", "vocab": specials, "unk_token": unk}
    del vocab, model
    backend = Tokenizer.from_str(json.dumps(spec))
    del spec
    segmenter = UnigramSegmenter(_slices(joined, lengths), scores, unk_id)
    del joined
    tokenizer = AutoTokenizer.from_pretrained(str(path), tokenizer_object=backend)
    # after construction: the tokenizer copies its backend through a serialisation that a Python step cannot take
    tokenizer.backend_tokenizer.pre_tokenizer = Sequence([tokenizer.backend_tokenizer.pre_tokenizer,
                                                          PreTokenizer.custom(segmenter)])
    return tokenizer


def _slices(joined: str, lengths: Iterable[int]) -> Iterator[str]:
    """``joined`` cut into consecutive pieces of the given lengths."""
    start = 0
    for length in lengths:
        yield joined[start : start + length]
        start += length
