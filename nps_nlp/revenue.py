"""NPS per account and its link to revenue: account-level NPS, revenue-weighted NPS, revenue at risk.

Every function takes *account answers*: mappings with an ``account_id``, a 0-10 ``score`` and optionally a
``timestamp`` (anything that sorts; ISO strings or datetimes) and ``themes`` (as in :mod:`nps_nlp.action_points`).
Account attributes come as a mapping ``account_id -> {"revenue": float | None, "segment": str | None, ...}``.

An account with several respondents has two NPS readings:

* **respondent NPS**: every answer counts once (an account with ten respondents weighs ten times as much);
* **account-level NPS**: every account counts once, with one *account score*: its **latest** answer (the
  default; ties broken by input order) or the **mean** of its answers. Its band (0-6 detractor, 7-8 passive,
  9-10 promoter; a mean such as 6.5 is a passive only from 7 on) decides the account's band.

**Revenue-weighted NPS** = 100 * (revenue of promoter accounts - revenue of detractor accounts) / revenue of all
accounts with a known, positive revenue (account-level bands). **Revenue at risk** is the revenue of accounts
whose account-level band is detractor; ``revenue_any_detractor`` also counts accounts with at least one
detractor respondent. Revenues must share one currency: :func:`check_currency` refuses a mix.

**Revenue at risk per theme**: the revenue of the distinct accounts with a detractor answer that mentions the
theme other than positively; each account counts once per theme.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from nps_nlp.errors import DataValidationError
from nps_nlp.nps import MIN_N, Band, NpsSummary, nps_band, too_few_reason

AccountMethod = Literal["latest", "mean"]
ACCOUNT_METHODS: tuple[AccountMethod, ...] = ("latest", "mean")


@dataclass(frozen=True)
class AccountScore:
    """One account's answers summed up.

    Attributes:
        account_id: the account.
        n: answers; ``promoters``, ``passives``, ``detractors`` per band.
        nps: respondent NPS within the account.
        score: the account score (latest answer or mean, see ``method``).
        band: the band of ``score``.
        method: ``latest`` or ``mean``.
        revenue: the account's revenue (``None`` when unknown).
        segment: the account's segment (``None`` when unknown).
    """

    account_id: str
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float
    score: float
    band: Band
    method: AccountMethod
    revenue: float | None = None
    segment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_method(method: str) -> None:
    if method not in ACCOUNT_METHODS:
        raise DataValidationError(f"account score method must be one of {list(ACCOUNT_METHODS)}, got {method!r}")


def _revenue(attrs: Mapping[str, Any] | None) -> float | None:
    value = (attrs or {}).get("revenue")
    return float(value) if value is not None else None


def account_scores(answers: Iterable[Mapping[str, Any]], attributes: Mapping[str, Mapping[str, Any]] | None = None,
                   method: AccountMethod = "latest") -> list[AccountScore]:
    """One :class:`AccountScore` per account with answers, sorted by account id. Answers without an account
    are left out.

    Raises:
        DataValidationError: an unknown ``method`` or a score outside 0-10.
    """
    _check_method(method)
    attributes = attributes or {}
    grouped: dict[str, list[tuple[Any, int, float]]] = {}
    for i, answer in enumerate(answers):
        account = answer.get("account_id")
        if account is None:
            continue
        score = answer["score"]
        if type(score) not in (int, float) or not 0 <= score <= 10:
            nps_band(score)  # raises for anything that is not a 0-10 number
        grouped.setdefault(str(account), []).append((answer.get("timestamp"), i, float(score)))
    out = []
    for account in sorted(grouped):
        rows = grouped[account]
        scores = [s for _, _, s in rows]
        promoters = sum(1 for x in scores if x >= 9)
        detractors = sum(1 for x in scores if x <= 6)
        passives = len(scores) - promoters - detractors
        if method == "latest":
            dated = [r for r in rows if r[0] is not None]
            latest = max(dated, key=lambda r: (r[0], r[1])) if dated else rows[-1]
            value = latest[2]
        else:
            value = round(sum(scores) / len(scores), 4)
        attrs = attributes.get(account)
        out.append(AccountScore(account, len(rows), promoters, passives, detractors,
                                round(100 * (promoters - detractors) / len(rows), 4), value,
                                _account_band(value), method, _revenue(attrs), (attrs or {}).get("segment")))
    return out


def _account_band(score: float) -> Band:
    """Band of an account score; a mean between 6 and 7 is a detractor, between 8 and 9 a passive."""
    return "detractor" if score < 7 else "passive" if score < 9 else "promoter"


def account_level_nps(accounts: Sequence[AccountScore], confidence: float = 0.95) -> NpsSummary:
    """NPS counting each account once, by its account-level band (interval as :func:`nps_nlp.nps.nps`)."""
    bands = [a.band for a in accounts]
    return NpsSummary.from_counts(bands.count("promoter"), bands.count("passive"), bands.count("detractor"),
                                  confidence=confidence)


def revenue_weighted_nps(accounts: Sequence[AccountScore], confidence: float = 0.95, n_boot: int = 1000,
                         random_state: int = 0, min_n: int = MIN_N) -> dict[str, Any]:
    """Revenue-weighted NPS of accounts (their account-level bands, weights their revenue) with a bootstrap
    interval over accounts (percentiles of ``n_boot`` resamples, widened to contain the value).

    Returns:
        ``nps`` (``None`` without any positive revenue), ``ci_low``/``ci_high``, ``revenue`` (the total weighed),
        ``accounts`` (weighed), ``accounts_without_revenue`` (left out: unknown or zero revenue), the revenue per
        band, and ``too_few``/``reason`` when fewer than ``min_n`` accounts are weighed (the interval of a handful
        of accounts says little; one account's interval has no width).
    """
    weighed = [a for a in accounts if a.revenue is not None and a.revenue > 0]
    per_band = {b: sum(a.revenue or 0.0 for a in weighed if a.band == b) for b in ("promoter", "passive", "detractor")}
    total = sum(per_band.values())
    value = round(100 * (per_band["promoter"] - per_band["detractor"]) / total, 4) if total > 0 else None
    low = high = None
    if value is not None:
        low, high = _bootstrap(weighed, confidence, n_boot, random_state)
        low, high = round(min(low, value), 4), round(max(high, value), 4)
    reason = too_few_reason({"accounts with revenue": len(weighed)}, min_n, "a revenue-weighted NPS")
    return {"nps": value, "ci_low": low, "ci_high": high, "revenue": round(total, 2), "accounts": len(weighed),
            "accounts_without_revenue": len(accounts) - len(weighed),
            "revenue_by_band": {b: round(v, 2) for b, v in per_band.items()},
            "too_few": reason is not None, "reason": reason}


def _bootstrap(weighed: Sequence[AccountScore], confidence: float, n_boot: int, random_state: int) -> tuple[float, float]:
    """Percentile interval of the revenue-weighted NPS over accounts resampled with replacement (in blocks, so
    memory stays small for many accounts)."""
    revenue = np.array([a.revenue or 0.0 for a in weighed])
    signed = revenue * np.array([{"promoter": 1.0, "passive": 0.0, "detractor": -1.0}[a.band] for a in weighed])
    rng = np.random.default_rng(random_state)
    n, draws, block = len(weighed), [], max(1, 2_000_000 // max(len(weighed), 1))
    for start in range(0, n_boot, block):
        idx = rng.integers(0, n, size=(min(block, n_boot - start), n), dtype=np.int32)
        draws.append(100 * signed[idx].sum(axis=1) / revenue[idx].sum(axis=1))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(np.concatenate(draws), [alpha, 1 - alpha])
    return float(low), float(high)


def revenue_at_risk(accounts: Sequence[AccountScore]) -> dict[str, Any]:
    """Revenue of detractor accounts, with counts.

    Returns:
        ``revenue`` and ``accounts`` (account-level band detractor), ``share`` of all known revenue (``None``
        without any), ``detractor_answers`` (their detractor respondents), and ``revenue_any_detractor`` /
        ``accounts_any_detractor`` (accounts with at least one detractor respondent).
    """
    known = sum(a.revenue or 0.0 for a in accounts if a.revenue is not None and a.revenue > 0)
    risky = [a for a in accounts if a.band == "detractor"]
    any_detractor = [a for a in accounts if a.detractors > 0]
    revenue = sum(a.revenue or 0.0 for a in risky)
    return {"revenue": round(revenue, 2), "accounts": len(risky),
            "accounts_without_revenue": sum(1 for a in risky if a.revenue is None),
            "share": round(revenue / known, 4) if known > 0 else None,
            "detractor_answers": sum(a.detractors for a in risky),
            "revenue_any_detractor": round(sum(a.revenue or 0.0 for a in any_detractor), 2),
            "accounts_any_detractor": len(any_detractor)}


def segment_summaries(accounts: Sequence[AccountScore]) -> list[dict[str, Any]]:
    """Per account segment (``None`` for accounts without one): account-level NPS, respondent NPS,
    revenue-weighted NPS and revenue at risk."""
    groups: dict[str | None, list[AccountScore]] = {}
    for a in accounts:
        groups.setdefault(a.segment, []).append(a)
    out = []
    for segment in sorted(groups, key=lambda s: (s is None, s or "")):
        members = groups[segment]
        out.append({"segment": segment, **summary(members)})
    return out


def summary(accounts: Sequence[AccountScore]) -> dict[str, Any]:
    """The figures of a set of accounts: ``accounts``, ``respondents``, respondent NPS (``respondent_nps``),
    ``account_nps`` (each account once), ``revenue_weighted`` and ``revenue_at_risk``."""
    respondents = NpsSummary.from_counts(sum(a.promoters for a in accounts), sum(a.passives for a in accounts),
                                         sum(a.detractors for a in accounts))
    return {"accounts": len(accounts), "respondents": respondents.n, "respondent_nps": respondents.to_dict(),
            "account_nps": account_level_nps(accounts).to_dict(), "revenue_weighted": revenue_weighted_nps(accounts),
            "revenue_at_risk": revenue_at_risk(accounts)}


def check_currency(attributes: Mapping[str, Mapping[str, Any]], currency: str | None = None) -> str | None:
    """The one currency of the accounts with a revenue, or ``currency`` when given (accounts in other currencies
    must then be left out by the caller).

    Raises:
        DataValidationError: revenues in several currencies and no ``currency`` chosen.
    """
    if currency is not None:
        return currency
    found = sorted({str(a.get("currency") or "") for a in attributes.values() if a.get("revenue") is not None})
    if len(found) > 1:
        shown = ", ".join(c or "(none)" for c in found)
        raise DataValidationError(f"account revenues are in several currencies ({shown}); revenue figures add up "
                                  "one currency: choose one with currency=...")
    return found[0] or None if found else None


def theme_revenue_at_risk(answers: Iterable[Mapping[str, Any]],
                          attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per theme: ``revenue_at_risk`` (revenue of the distinct accounts with a detractor answer mentioning the theme
    other than positively), ``accounts_at_risk`` and ``detractor_answers`` (those answers)."""
    accounts: dict[str, set[str]] = {}
    answers_per_theme: dict[str, int] = {}
    for answer in answers:
        account = answer.get("account_id")
        if nps_band(answer["score"]) != "detractor":
            continue
        themes = {t["theme"] for t in answer.get("themes") or [] if t.get("theme") and t.get("sentiment") != "positive"}
        for theme in themes:
            answers_per_theme[theme] = answers_per_theme.get(theme, 0) + 1
            if account is not None:
                accounts.setdefault(theme, set()).add(str(account))
    out = {}
    for theme, n in answers_per_theme.items():
        members = accounts.get(theme, set())
        revenue = sum(_revenue(attributes.get(a)) or 0.0 for a in members)
        out[theme] = {"revenue_at_risk": round(revenue, 2), "accounts_at_risk": len(members), "detractor_answers": n}
    return out


def rank_by_revenue_at_risk(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Action points (dicts with ``theme``, ``impact``, ``revenue_at_risk``) by revenue at risk, largest first,
    then by impact (most harmful first) and theme."""
    return sorted(items, key=lambda p: (-(p.get("revenue_at_risk") or 0.0), p.get("impact", 0.0), p.get("theme", "")))


__all__ = ["ACCOUNT_METHODS", "AccountMethod", "AccountScore", "account_level_nps", "account_scores",
           "check_currency", "rank_by_revenue_at_risk", "revenue_at_risk", "revenue_weighted_nps",
           "segment_summaries", "summary", "theme_revenue_at_risk"]
