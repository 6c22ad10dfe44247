"""Training's commands, added to ``nps-nlp`` through the ``nps_nlp.commands`` entry point ``training``.

- ``_train``: train, evaluate, refit-urgency, compare
- ``_analyst``: suggest, audit, discover (the analyst's labelling tools)

The training code is imported inside the commands, so that ``nps-nlp classify`` does not load it.
"""

# isort: off
from training.cli import _train, _analyst  # noqa: F401  (registers the commands)
# isort: on
