"""Reading a sentence-transformers directory's transformer with transformers alone: the same model, tokenizer and
prompts as sentence-transformers loads, without importing it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import torch

from nps_nlp.encoders import TokenEncoder, load_token_encoder
from nps_nlp.encoders._transformer import load_transformer

TEXTS = ["great staff but the invoice was wrong again", "levering pakket laat", "ok"]


def test_token_states_are_those_of_the_sentence_transformers_model(tiny_encoder_dir):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    reference = TokenEncoder(st[0].auto_model.eval(), st.tokenizer, name="st", prompts=st.prompts,
                             dim=st.get_embedding_dimension())
    encoder = load_token_encoder(str(tiny_encoder_dir))
    assert type(encoder.model) is type(reference.model) and encoder.prompts == reference.prompts
    assert encoder.dim == reference.dim and encoder.tokenizer.model_max_length == reference.tokenizer.model_max_length
    for layer in (None, 1):
        ours, theirs = encoder.token_states(TEXTS, layer=layer), reference.token_states(TEXTS, layer=layer)
        assert all(torch.equal(a, b) for a, b in zip(ours[0], theirs[0], strict=True))
        assert all((a == b).all() for a, b in zip(ours[1], theirs[1], strict=True))


def test_loading_a_token_encoder_does_not_import_sentence_transformers(tiny_encoder_dir):
    code = ("import sys; from nps_nlp.encoders import load_token_encoder; "
            f"load_token_encoder({str(tiny_encoder_dir)!r}); print('sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_other_layouts_are_left_to_sentence_transformers(tiny_encoder_dir, tmp_path):
    assert load_transformer("intfloat/multilingual-e5-small") is None  # a hub id
    lower = shutil.copytree(tiny_encoder_dir, tmp_path / "lower")
    settings = json.loads((lower / "sentence_bert_config.json").read_text())
    (lower / "sentence_bert_config.json").write_text(json.dumps({**settings, "do_lower_case": True}))
    assert load_transformer(lower) is None
    nested = shutil.copytree(tiny_encoder_dir, tmp_path / "nested")
    modules = json.loads((nested / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (nested / "modules.json").write_text(json.dumps(modules))
    assert load_transformer(nested) is None
    encoder = load_token_encoder(str(lower))  # through sentence-transformers
    assert encoder.prefix == "query: " and encoder.token_states(TEXTS[:1])[0][0].shape[1] == encoder.dim
