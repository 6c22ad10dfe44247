"""nps-nlp: themes, per-theme sentiment and urgency for NPS answers in Dutch, Norwegian and English."""

from __future__ import annotations

__version__ = "0.1.0"

from nps_nlp._results import Evidence, FeedbackResult, ThemeResult  # noqa: E402
from nps_nlp.action_points import ActionPoint, PassiveDriver, action_points, passive_drivers  # noqa: E402
from nps_nlp.classifier import FeedbackClassifier  # noqa: E402
from nps_nlp.language import LanguageDetector, detect_language  # noqa: E402
from nps_nlp.nps import NpsChange, NpsSummary, nps, nps_band, nps_change, nps_trend  # noqa: E402
from nps_nlp.pipeline import AnalyzedAnswer, FeedbackPipeline, Route  # noqa: E402
from nps_nlp.registry import ModelEntry, ModelRegistry  # noqa: E402
from nps_nlp.taxonomy import Taxonomy, Theme, load_taxonomy  # noqa: E402
from nps_nlp.urgency import UrgencyDetector, UrgencyReason, UrgencyResult  # noqa: E402

__all__ = [
    "ActionPoint",
    "AnalyzedAnswer",
    "Evidence",
    "FeedbackPipeline",
    "ModelEntry",
    "ModelRegistry",
    "NpsChange",
    "NpsSummary",
    "PassiveDriver",
    "Route",
    "UrgencyDetector",
    "UrgencyReason",
    "UrgencyResult",
    "action_points",
    "nps",
    "nps_band",
    "nps_change",
    "nps_trend",
    "passive_drivers",
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
