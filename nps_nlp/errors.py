"""The nps-nlp error hierarchy: every error the library raises on purpose derives from :class:`NpsNlpError`.

::

    NpsNlpError
    ├── ConfigError              a setting, config file or CLI option is invalid
    ├── DataFormatError          input data cannot be read or lacks what is required (also a ValueError)
    ├── DataValidationError      labelled data is readable but wrong: unknown themes, bad scores, ... (also a ValueError)
    ├── TaxonomyError            a taxonomy file is malformed
    ├── EncoderError             an encoder cannot be built, converted or loaded
    ├── MissingDependencyError   a dependency is missing; names the pip extra to install (also an ImportError)
    ├── ModelLoadError           a saved classifier directory is missing, incomplete or incompatible
    └── NotFittedError           ``predict`` was called before ``fit`` (also a ValueError)

Messages say what was expected, what was found, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataFormatError",
    "DataValidationError",
    "EncoderError",
    "MissingDependencyError",
    "ModelLoadError",
    "NotFittedError",
    "NpsNlpError",
    "TaxonomyError",
]


class NpsNlpError(Exception):
    """Root of every error raised by nps-nlp."""


class ConfigError(NpsNlpError, ValueError):
    """A setting, configuration file or command-line option is invalid."""


class DataFormatError(NpsNlpError, ValueError):
    """Input data cannot be read, or lacks a required column or field."""


class DataValidationError(NpsNlpError, ValueError):
    """Labelled data is readable but invalid.

    Attributes:
        problems: one human-readable line per problem, each naming the row.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            shown = "\n".join(f"  - {p}" for p in self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            message = f"{message}\n{shown}{more}"
        super().__init__(message)


class TaxonomyError(NpsNlpError, ValueError):
    """A taxonomy file is malformed (missing ids, duplicate ids, unknown languages, ...)."""


class EncoderError(NpsNlpError):
    """An encoder cannot be built, converted or loaded."""


class MissingDependencyError(NpsNlpError, ImportError):
    """A dependency is not installed: an optional one (``extra`` names the pip extra that brings it) or, with
    ``extra=None``, one that every install of nps-nlp has (the install is broken: reinstall it)."""

    def __init__(self, package: str, extra: str | None = None) -> None:
        if extra is None:
            message = (f"{package} is missing, but every nps-nlp install needs it: reinstall with its dependencies, "
                       "pip install --force-reinstall nps-nlp")
        else:
            message = f"{package} is required for this feature: pip install 'nps-nlp[{extra}]'"
        super().__init__(message)
        self.package = package
        self.extra = extra


class ModelLoadError(NpsNlpError):
    """A saved classifier directory is missing, incomplete or incompatible."""


class NotFittedError(NpsNlpError, ValueError):
    """The classifier was used before it was fitted or loaded."""
