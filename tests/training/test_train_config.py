"""Sectioned training configs, dotted overrides and their errors (no training here)."""

import sys
import tomllib
from pathlib import Path

import pytest

from nps_nlp.errors import ConfigError
from training.config import DOTTED_KEYS, TrainingArguments

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("comment,labels\nx,billing_payment\n", encoding="utf-8")
    return path


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sections_overrides_and_resolved_toml(tmp_path, data):
    cfg = write(tmp_path, f"""
[data]
path = "{data}"
label_delimiter = "/"
[data.columns]
text = "comment"
[model]
mode = "contrastive"
[train]
epochs = 5
[output]
path = "{tmp_path / 'run'}"
""")
    args = TrainingArguments.from_file(cfg, overrides=["train.epochs=7", "data.columns.themes=labels",
                                                       "data.languages=nl,nb", "train.learning_rate=1",
                                                       "train.contrastive_pairs_per_example=4"])
    assert args.epochs == 7 and args.mode == "contrastive" and args.label_delimiter == "/"
    assert args.columns == {"text": "comment", "themes": "labels"}
    assert args.languages == ["nl", "nb"]
    assert args.learning_rate == 1.0 and isinstance(args.learning_rate, float)
    assert args.contrastive_pairs_per_example == 4
    # keyword overrides (the CLI's --data/--output/...) win over the file and --set
    assert TrainingArguments.from_file(cfg, overrides=["train.seed=3"], seed=9).seed == 9
    resolved = tomllib.loads(args.to_toml())
    assert resolved["train"]["epochs"] == 7 and resolved["data"]["columns"] == {"text": "comment", "themes": "labels"}
    assert resolved["model"]["mode"] == "contrastive" and "encoder" not in resolved["model"]  # None left out
    # the resolved config reads back into the same arguments
    again = write(tmp_path, args.to_toml(), "again.toml")
    assert TrainingArguments.from_file(again) == args


def test_yaml_config(tmp_path, data):
    cfg = write(tmp_path, f"data:\n  path: {data}\n  format: csv\noutput:\n  path: {tmp_path / 'run'}\n", "c.yaml")
    args = TrainingArguments.from_file(cfg)
    assert args.format == "csv" and args.mode == "frozen" and args.min_examples_per_label == 5


def test_unknown_key_lists_valid_keys_and_suggests(tmp_path, data):
    cfg = write(tmp_path, f'[data]\npath = "{data}"\n[train]\nepoch = 3\n[output]\npath = "x"\n')
    with pytest.raises(ConfigError) as info:
        TrainingArguments.from_file(cfg)
    message = str(info.value)
    assert "unknown config key 'train.epoch'" in message and "did you mean 'train.epochs'" in message
    assert all(key in message for key in DOTTED_KEYS)
    # the issue-2 flat layout gets pointed at the new name
    with pytest.raises(ConfigError, match="'train.data'.*did you mean 'data.path'"):
        TrainingArguments.from_file(write(tmp_path, '[train]\ndata = "x"\n', "old.toml"))
    with pytest.raises(ConfigError, match="unknown config key 'bogus.x'"):
        TrainingArguments.from_file(None, overrides=["bogus.x=1"], data=str(data), output="o")
    with pytest.raises(ConfigError, match="expected section.key=value"):
        TrainingArguments.from_file(None, overrides=["train.epochs"], data=str(data), output="o")


def test_invalid_values_are_reported_together(tmp_path, data):
    with pytest.raises(ConfigError) as info:
        TrainingArguments.from_file(None, overrides=["train.epochs=ten", "data.drop_invalid=maybe"],
                                    data=str(data), output="o")
    assert "train.epochs must be a whole number or empty (left out), found 'ten'" in str(info.value)
    assert "data.drop_invalid must be true or false, found 'maybe'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        TrainingArguments.from_file(None, overrides=["model.mode=setfit", "train.contrastive_pairs_per_example=1",
                                                     "data.label_delimiter=':'", "data.min_examples_per_label=-1"],
                                    data=str(data), output="o")
    message = str(info.value)
    assert "model.mode must be one of frozen, contrastive, found 'setfit'" in message
    assert "contrastive_pairs_per_example must be >= 2" in message
    assert "label_delimiter must be a non-empty separator other than ':'" in message
    assert "min_examples_per_label must be >= 0" in message
    with pytest.raises(ConfigError) as info:
        TrainingArguments.from_file(None, overrides=["train.ensemble=0"], data=str(data), output="o")
    assert "train.ensemble must be >= 1 heads, found 0" in str(info.value)
    with pytest.raises(ConfigError) as info:
        TrainingArguments.from_file(None, overrides=["train.ensemble=3", "model.finetune_layers=2"], data=str(data),
                                    output="o")
    assert "train.ensemble = 3 needs a frozen encoder" in str(info.value)
    args = TrainingArguments.from_file(None, overrides=["train.ensemble=1"], data=str(data), output="o")
    assert args.ensemble == 1 and tomllib.loads(args.to_toml())["train"]["ensemble"] == 1
    with pytest.raises(ConfigError, match="missing required settings: output.path"):
        TrainingArguments.from_file(None, data=str(data))
    with pytest.raises(ConfigError, match="does not exist"):
        TrainingArguments.from_file(tmp_path / "missing.toml")


def test_default_recipe_still_describes_the_shipped_model(monkeypatch):
    from safetensors.torch import load_file

    monkeypatch.chdir(ROOT)
    args = TrainingArguments.from_file(ROOT / "training" / "configs" / "default.toml")
    assert args.data == "data/seed/train.jsonl" and args.dev_data == "data/seed/dev.jsonl"  # the test split is never read by training
    assert (args.mode, args.finetune_layers, args.epochs, args.seed) == ("frozen", 0, 40, 0)
    shipped = __import__("json").loads((ROOT / "models" / "default" / "config.json").read_text())
    old = shipped["training_arguments"]
    assert (old["data"], old["dev_data"], old["epochs"], old["seed"], old["finetune_layers"]) == (
        args.data, args.dev_data, args.epochs, args.seed, args.finetune_layers)
    # one head (the recipe sets it; the shipped model predates the setting and has one)
    assert args.ensemble == 1 and old.get("ensemble", 1) == 1
    assert not any(key.startswith("heads.") for key in load_file(str(ROOT / "models" / "default" / "head.safetensors")))


def test_device_setting(tmp_path, data, monkeypatch):
    """train.device reaches the resolved config; a bad value is a config error, a GPU that is not there fails
    before the data is read."""
    import torch

    from training.train import train

    run = tmp_path / "run"
    cfg = write(tmp_path, f'[data]\npath = "{data}"\n[output]\npath = "{run}"\n')
    args = TrainingArguments.from_file(cfg, overrides=["train.device=auto"])
    assert args.device == "auto" and tomllib.loads(args.to_toml())["train"]["device"] == "auto"
    assert TrainingArguments.from_file(cfg).device == "cpu"
    with pytest.raises(ConfigError, match="train.device must be 'cpu', 'cuda', 'cuda:N' or 'auto', found 'gpu'"):
        TrainingArguments.from_file(cfg, overrides=["train.device=gpu"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cuda = TrainingArguments.from_file(cfg, overrides=["train.device=cuda:0"])
    module = sys.modules[train.__module__]  # training.train (the package exports the function under that name)
    monkeypatch.setattr(module, "load_training_data", lambda a: pytest.fail("data read before the device check"))
    with pytest.raises(ConfigError, match="sees no CUDA GPU"):
        train(cuda, show_progress_bar=False)
    assert not run.exists()
