"""The ``nps-nlp`` command line: a thin typer wrapper over library functions.

Each command group lives in its own module that registers on the shared ``app`` (:mod:`nps_nlp.cli.common`)
when imported. The library's own commands are here, in the order of ``nps-nlp --help``:

- ``_classify``: classify
- ``_tag``: tag (batch tagging, local or Ray)
- ``_models``: models list|show|register|promote
- ``_retag``: retag (re-tag the service's stored answers after a promotion, through its HTTP API)

The packages above the library add theirs through the ``nps_nlp.commands`` entry-point group (as Flask and
Datasette plugins do), so the library never imports them:

- ``training.cli``: train, evaluate, compare, suggest, audit, discover
- ``api.cli``: serve, keys, report, accounts, users, quarantine

An entry point names a module that registers its commands when imported. One that cannot be imported (a
plugin built for another version, a broken install) is reported on stderr and leaves the other commands working.
"""

from importlib.metadata import entry_points

# isort: off
from nps_nlp.cli import _classify, _tag, _models, _retag  # noqa: F401  (registers the commands)
# isort: on
from nps_nlp.cli.common import app, err

ENTRY_POINT_GROUP = "nps_nlp.commands"


def load_plugins() -> list[str]:
    """Import every ``nps_nlp.commands`` entry point (in name order); the names of those that loaded."""
    loaded = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        try:
            entry_point.load()
        except Exception as exc:  # noqa: BLE001  (a broken plugin must not take the core commands down)
            err.print(f"[yellow]warning:[/] the {entry_point.name!r} commands ({entry_point.value}) did not load: {exc}")
            continue
        loaded.append(entry_point.name)
    return loaded


PLUGINS = load_plugins()

__all__ = ["ENTRY_POINT_GROUP", "PLUGINS", "app", "load_plugins"]
