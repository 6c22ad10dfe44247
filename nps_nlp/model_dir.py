"""Where a model directory is: a training run's ``model-best/`` and the default model shipped with nps-nlp.

A model is a directory with a ``config.json`` (see :meth:`nps_nlp.FeedbackClassifier.save`). A training run
writes ``model-best/`` and ``model-last/`` below its output directory; everything that takes a model path
(the classifier, training, the command line) accepts either and resolves it here.

The default model lives in ``models/default`` at the top of a source checkout; the wheel ships the same files
as package data in ``nps_nlp/models/default`` (copied there at build time, see ``setup.py``).
"""

from __future__ import annotations

from pathlib import Path

MODEL_CONFIG = "config.json"
BEST = "model-best"

_PACKAGE = Path(__file__).resolve().parent


def resolve_model_dir(path: str | Path) -> Path:
    """A model directory as given, or a training run directory's ``model-best/``.

    Args:
        path: a model directory (with ``config.json``) or a training run directory (with ``model-best/``).

    Returns:
        ``path/model-best`` when ``path`` has no ``config.json`` of its own but its ``model-best`` has one,
        else ``path`` unchanged (loading it then says what is missing).
    """
    path = Path(path)
    if not (path / MODEL_CONFIG).is_file() and (path / BEST / MODEL_CONFIG).is_file():
        return path / BEST
    return path


def shipped_default_model() -> Path:
    """The default model shipped with nps-nlp.

    Returns:
        ``nps_nlp/models/default`` inside an installed wheel, else ``models/default`` of the source checkout
        this package was imported from.
    """
    packaged = _PACKAGE / "models" / "default"
    if (packaged / MODEL_CONFIG).is_file():
        return packaged
    return _PACKAGE.parent / "models" / "default"
