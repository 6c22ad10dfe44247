"""The compact Unigram tokenizer gives the tokens, ids and offsets of ``tokenizers``' own Unigram model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nps_nlp.encoders._unigram import UnigramSegmenter, compact_unigram_tokenizer

ROOT = Path(__file__).resolve().parents[2]
ALPHABET = "abcdeé日😀-"  # the last character is never a piece on its own: an unknown character


def random_vocab(seed: int) -> list[tuple[str, float]]:
    """Specials, then pieces of one to four characters (some with the word-start mark) whose scores come from a
    few values, so that paths tie often; a few pieces occur twice."""
    rng = random.Random(seed)
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), ("<pad>", 0.0)]
    for _ in range(300):
        piece = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4)))
        if piece == "-":
            continue
        pieces.append(("\u2581" + piece if rng.random() < 0.3 else piece, -float(rng.choice([1, 2, 2.5, 3, 7]))))
    pieces += [("\u2581", -2.0)] + [pieces[7], pieces[20]]  # a piece twice: its last id counts
    return pieces


def unigram_dir(path: Path, pieces: list[tuple[str, float]]) -> Path:
    """A fast tokenizer of ``pieces`` laid out as the converted e5 tokenizer (NFKC, Metaspace, <s> ... </s>)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(pieces, unk_id=0, byte_fallback=False))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                            pad_token="<pad>", model_max_length=64).save_pretrained(path)
    return path


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_tokens_as_tokenizers_unigram_on_random_text(tmp_path, seed):
    from transformers import AutoTokenizer

    path = unigram_dir(tmp_path / "tok", random_vocab(seed))
    reference, compact = AutoTokenizer.from_pretrained(str(path)), compact_unigram_tokenizer(path)
    assert compact is not None
    rng = random.Random(seed)
    texts = ["".join(rng.choice(ALPHABET + "  ") for _ in range(rng.randint(0, 40))) for _ in range(400)]
    texts += ["", " ", "--", "a--b", "ﬁ ＡＢＣ e\u0301", "<unk> <s>"]  # unknowns fused, NFKC, special-token text
    for max_length in (8, 64):
        expected = reference(texts, truncation=True, max_length=max_length, padding=True, return_offsets_mapping=True)
        found = compact(texts, truncation=True, max_length=max_length, padding=True, return_offsets_mapping=True)
        for key in ("input_ids", "attention_mask", "offset_mapping"):
            assert found[key] == expected[key], key


def test_segmenter_scores_unknowns_and_keeps_its_cache_bounded():
    segmenter = UnigramSegmenter(["<unk>", "ab", "a", "b", "c"], [0.0, -1.0, -1.0, -1.0, -5.0], 0, cache_size=2)
    assert segmenter.unk_score == -15.0
    assert segmenter.segment("abc") == ["ab", "c"]
    assert segmenter.segment("xyab") == ["xy", "ab"]  # two unknown characters, one token
    assert [(t.id, t.value, t.offsets) for t in segmenter.tokens("éab")] == [(0, "é", (0, 2)), (1, "ab", (2, 4))]
    for word in ("a", "b", "c", "ab"):
        segmenter.tokens(word)
    assert len(segmenter._cache) == 2
    with pytest.raises(ValueError, match="unk_id"):
        UnigramSegmenter(["a"], [-1.0], 3)


def test_other_tokenizers_are_left_to_transformers(tiny_encoder_dir, tmp_path):
    assert compact_unigram_tokenizer(tiny_encoder_dir) is None  # word pieces
    assert compact_unigram_tokenizer(tmp_path) is None  # no tokenizer.json


def test_default_encoder_tokenizes_every_seed_answer_as_before(e5_dir):
    from transformers import AutoTokenizer

    reference, compact = AutoTokenizer.from_pretrained(str(e5_dir)), compact_unigram_tokenizer(e5_dir)
    texts = [json.loads(line)["text"] for name in ("train", "dev", "test")
             for line in (ROOT / "data" / "seed" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    for prefix in ("query: ", ""):
        for max_length in (128, 512):
            for start in range(0, len(texts), 256):
                batch = [prefix + t for t in texts[start : start + 256]]
                expected = reference(batch, truncation=True, max_length=max_length, padding=True,
                                     return_offsets_mapping=True)
                found = compact(batch, truncation=True, max_length=max_length, padding=True,
                                return_offsets_mapping=True)
                for key in ("input_ids", "attention_mask", "offset_mapping"):
                    assert found[key] == expected[key], (prefix, max_length, start, key)
