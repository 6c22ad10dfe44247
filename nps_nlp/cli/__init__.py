"""The ``nps-nlp`` command line: a thin typer wrapper over library functions.

Each command group lives in its own module that registers on the shared ``app``:
``_classify`` (classify), ``_training`` (train, evaluate).
"""

from nps_nlp.cli import _analyst, _classify, _models, _serve, _tag, _training  # noqa: F401  (importing registers the commands)
from nps_nlp.cli._app import app

__all__ = ["app"]
