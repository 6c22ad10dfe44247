"""Reading a lexical theme model saved as a joblib pickle (``lexical.joblib``, what models were saved with
before the plain JSON + safetensors form) without importing scikit-learn.

The pickle names scikit-learn's vectorizer and regression classes and the old ``LexicalThemeModel``; every
number the model needs is in those objects' attributes (plain dicts, lists and numpy arrays). A restricted
unpickler builds a plain attribute holder for each such class instead of importing it, and refuses any other
global than numpy's and joblib's array helpers, so reading a shipped model loads neither scikit-learn nor scipy.
A file it cannot read that way (a compressed dump, an unexpected class) is read with ``joblib.load`` and
scikit-learn instead (an ordinary unpickling, as before), then converted the same way.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from nps_nlp._lexical import LexicalThemeModel

__all__ = ["read_joblib_model"]

#: modules whose pickled objects become attribute holders
_HOLDER_MODULES = ("sklearn.", "nps_nlp._lexical")
#: modules whose globals the pickle of a model may name as they are (array reconstruction, dtypes)
_ALLOWED_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                    "numpy._core.numeric", "joblib.numpy_pickle")


class _Attributes:
    """What a pickled scikit-learn (or old nps-nlp) object unpickles to here: its attributes, nothing else."""

    origin = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple):  # (dict state, slot state)
            state = {**(state[0] or {}), **(state[1] or {})}
        self.__dict__.update(state)


def _restricted_load(path: Path) -> Any:
    """Unpickle a plain (uncompressed) joblib dump with scikit-learn's classes replaced by attribute holders.

    Raises:
        pickle.UnpicklingError: the file names a global outside the allowed modules.
    """
    from joblib.numpy_pickle import NumpyUnpickler

    holders: dict[str, type] = {}

    class Restricted(NumpyUnpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module.startswith(_HOLDER_MODULES):
                key = f"{module}.{name}"
                return holders.setdefault(key, type(name, (_Attributes,), {"origin": key}))
            if module in _ALLOWED_MODULES:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"{path}: {module}.{name} is not part of a lexical model")

    with open(path, "rb") as handle:
        try:
            unpickler = Restricted(str(path), handle, ensure_native_byte_order=True)
        except TypeError:  # joblib < 1.5 has no ensure_native_byte_order
            unpickler = Restricted(str(path), handle)
        return unpickler.load()


def read_joblib_model(path: str | Path) -> LexicalThemeModel:
    """The lexical model pickled (by ``joblib.dump``) at ``path``, as plain arrays.

    Raises:
        ValueError: the file does not hold a fitted lexical theme model.
    """
    path = Path(path)
    try:
        state = vars(_restricted_load(path))
        return LexicalThemeModel.from_state(state)
    except Exception:  # noqa: BLE001 - any file the restricted reader cannot take goes the long way
        import joblib

        return LexicalThemeModel.from_state(vars(joblib.load(path)))
