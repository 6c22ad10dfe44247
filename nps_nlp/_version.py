"""The version of nps-nlp (read by the package, saved models and the wheel's metadata)."""

__version__ = "0.1.0"
