"""nps-nlp: themes, per-theme sentiment and urgency for NPS answers in Dutch, Norwegian and English."""

from __future__ import annotations

__version__ = "0.1.0"

from nps_nlp._results import Evidence, FeedbackResult, ThemeResult  # noqa: E402
from nps_nlp.classifier import FeedbackClassifier  # noqa: E402
from nps_nlp.language import LanguageDetector, detect_language  # noqa: E402
from nps_nlp.taxonomy import Taxonomy, Theme, load_taxonomy  # noqa: E402

__all__ = [
    "Evidence",
    "FeedbackClassifier",
    "FeedbackResult",
    "LanguageDetector",
    "Taxonomy",
    "Theme",
    "ThemeResult",
    "__version__",
    "detect_language",
    "load_taxonomy",
]
