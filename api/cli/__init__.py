"""The service's commands, added to ``nps-nlp`` through the ``nps_nlp.commands`` entry point ``service``.

- ``_serve``: serve, keys create|list|revoke
- ``_report``: report (a day's, week's or month's digest, HTML or PDF)
- ``_accounts``: accounts import (accounts and revenue from CSV)
- ``_users``: users create|list|set-password|add-team (workspace sign-in)
- ``_quarantine``: quarantine check|log-sent

The web framework and the database layer are imported inside the commands, so that ``nps-nlp classify`` starts
without them and a missing ``api`` extra is reported by the command that needs it.
"""

# isort: off
from api.cli import _serve, _report, _accounts, _users, _quarantine  # noqa: F401  (registers the commands)
# isort: on
