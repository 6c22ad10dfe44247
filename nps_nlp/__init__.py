"""nps-nlp: themes, per-theme sentiment and urgency for NPS answers in Dutch, Norwegian and English."""

from __future__ import annotations

from nps_nlp._results import Evidence, FeedbackResult, ThemeResult
from nps_nlp._version import __version__
from nps_nlp.action_points import ActionPoint, PassiveDriver, action_points, passive_drivers
from nps_nlp.classifier import FeedbackClassifier
from nps_nlp.language import LanguageDetector, detect_language
from nps_nlp.nps import NpsChange, NpsSummary, nps, nps_band, nps_change, nps_trend
from nps_nlp.pipeline import AnalyzedAnswer, FeedbackPipeline, Route
from nps_nlp.registry import ModelEntry, ModelRegistry
from nps_nlp.taxonomy import Taxonomy, Theme, load_taxonomy
from nps_nlp.urgency import UrgencyDetector, UrgencyReason, UrgencyResult

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
