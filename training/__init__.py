"""Training and evaluation recipes for nps-nlp models: config-driven, each run writes a model directory
with its resolved config, metrics and a generated model card."""

from training.config import TrainingArguments
from training.evaluate import evaluate, evaluate_examples
from training.train import train

__all__ = ["TrainingArguments", "evaluate", "evaluate_examples", "train"]
