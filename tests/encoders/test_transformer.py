"""Reading a sentence-transformers directory's transformer without sentence-transformers: the same computation,
tokenizer and prompts as sentence-transformers loads (a plain BERT encoder in plain torch, the same bits)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch

from nps_nlp.encoders import TokenEncoder, load_token_encoder
from nps_nlp.encoders._bert import BertConfig, BertEncoder, load_bert_encoder
from nps_nlp.encoders._transformer import load_transformer

TEXTS = ["great staff but the invoice was wrong again", "levering pakket laat", "ok"]


def test_token_states_are_those_of_the_sentence_transformers_model(tiny_encoder_dir):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    reference = TokenEncoder(st[0].auto_model.eval(), st.tokenizer, name="st", prompts=st.prompts,
                             dim=st.get_embedding_dimension())
    encoder = load_token_encoder(str(tiny_encoder_dir))
    assert isinstance(encoder.model, BertEncoder) and encoder.prompts == reference.prompts
    assert encoder.dim == reference.dim and encoder.tokenizer.model_max_length == reference.tokenizer.model_max_length
    for layer in (None, 1):
        ours, theirs = encoder.token_states(TEXTS, layer=layer), reference.token_states(TEXTS, layer=layer)
        assert all(torch.equal(a, b) for a, b in zip(ours[0], theirs[0], strict=True))
        assert all((a == b).all() for a, b in zip(ours[1], theirs[1], strict=True))


def test_fine_tuning_sees_the_same_dropout_as_transformers(tiny_encoder_dir):
    """In training mode the plain-torch BERT draws its dropout masks in transformers' order: same seed, same bits."""
    from transformers import AutoModel

    reference = AutoModel.from_pretrained(str(tiny_encoder_dir)).train()
    encoder = load_token_encoder(str(tiny_encoder_dir))
    ours = encoder.model.train()
    enc = encoder.tokenize(TEXTS, 64)  # padded: the attention mask is used
    outs = []
    for model in (reference, ours):
        torch.manual_seed(7)
        outs.append(model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state)
    assert torch.equal(outs[0], outs[1])
    outs[1].sum().backward()  # and it trains
    assert ours.encoder.layer[-1].output.dense.weight.grad is not None


def test_loading_a_token_encoder_imports_neither_sentence_transformers_nor_transformers_models(tiny_encoder_dir):
    """Inference holds neither sentence-transformers nor transformers' modelling code (which pulls in torch._dynamo
    and sympy: some 130 MB for the life of a service)."""
    code = ("import sys; from nps_nlp.encoders import load_token_encoder; "
            f"load_token_encoder({str(tiny_encoder_dir)!r}).token_states(['a short answer', 'and a longer one here']); "
            "print([m in sys.modules for m in ('sentence_transformers', 'transformers.modeling_utils', 'torch._dynamo')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[False, False, False]"


def test_only_plain_bert_encoders_load_as_bert_encoder(tiny_encoder_dir, tmp_path):
    assert BertConfig.read(tiny_encoder_dir) is not None
    other = shutil.copytree(tiny_encoder_dir, tmp_path / "relative")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "position_embedding_type": "relative_key"}))
    assert BertConfig.read(other) is None and load_bert_encoder(other) is None
    assert not isinstance(load_transformer(other).model, BertEncoder)  # transformers loads it
    broken = shutil.copytree(tiny_encoder_dir, tmp_path / "broken")
    (broken / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 1}))
    with pytest.raises(ValueError, match="missing weights"):
        load_bert_encoder(broken)


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
