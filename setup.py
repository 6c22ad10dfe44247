"""Build hook: ship the default model inside the wheel.

The model lives at the top of the checkout in ``models/default``; the wheel carries a copy as package data in
``nps_nlp/models/default``, where :func:`nps_nlp.model_dir.shipped_default_model` finds it once installed.
Everything else about the package is declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default"


class BuildWithDefaultModel(build_py):
    """``build_py`` that also copies ``models/default`` into ``nps_nlp/models/default`` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads models/default in place
            return
        if not (DEFAULT_MODEL / "config.json").is_file():
            raise FileNotFoundError(f"{DEFAULT_MODEL} has no config.json: the wheel would ship without its default model")
        target = Path(self.build_lib) / "nps_nlp" / "models" / "default"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(DEFAULT_MODEL, target)


setup(cmdclass={"build_py": BuildWithDefaultModel})
