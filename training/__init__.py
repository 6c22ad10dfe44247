"""Training and evaluation recipes for nps-nlp models: config-driven, validated before compute; each run
writes a directory with ``model-best/``, ``model-last/``, the resolved config, metrics and a model card."""

from nps_nlp.model_dir import resolve_model_dir as best_model_dir  # a run directory -> its model-best
from training.compare import compare_examples, compare_models
from training.config import TrainingArguments
from training.evaluate import evaluate, evaluate_examples
from training.train import train
from training.validate import Problem, TrainingDataError, ValidationReport, validate_data

__all__ = [
    "Problem",
    "TrainingArguments",
    "TrainingDataError",
    "ValidationReport",
    "best_model_dir",
    "compare_examples",
    "compare_models",
    "evaluate",
    "evaluate_examples",
    "train",
    "validate_data",
]
