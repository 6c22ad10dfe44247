"""The ``nps-nlp`` command line: a thin typer wrapper over library functions.

Each command group lives in its own module that registers on the shared ``app`` when imported; the import
order below is the order of ``nps-nlp --help``:

- ``_classify``: classify
- ``_tag``: tag (batch tagging, local or Ray)
- ``_training``: train, evaluate, compare
- ``_models``: models list|show|register|promote
- ``_analyst``: suggest, audit, discover
- ``_serve``: serve, keys
- ``_report``: report (a day's, week's or month's digest from the service's database, HTML or PDF)
- ``_accounts``: accounts import (accounts and revenue from CSV)
- ``_users``: users create|list|set-password|add-team (workspace sign-in)
- ``_quarantine``: quarantine check|log-sent (survey quarantine against the service's database)
- ``_retag``: retag (re-tag the service's stored answers after a promotion, with progress)
"""

# isort: off
from nps_nlp.cli import _classify, _tag, _training, _models, _analyst, _serve, _users  # noqa: F401  (registers the commands)
from nps_nlp.cli import _accounts  # noqa: F401
from nps_nlp.cli import _quarantine, _retag  # noqa: F401
from nps_nlp.cli import _report  # noqa: F401
# isort: on
from nps_nlp.cli._app import app

__all__ = ["app"]
