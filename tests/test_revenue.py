"""Account-level NPS, revenue-weighted NPS and revenue at risk."""

from __future__ import annotations

import pytest

from nps_nlp.errors import DataValidationError
from nps_nlp.revenue import (
    account_level_nps,
    account_scores,
    check_currency,
    rank_by_revenue_at_risk,
    revenue_at_risk,
    revenue_weighted_nps,
    segment_summaries,
    summary,
    theme_revenue_at_risk,
)

ANSWERS = [
    # big: three respondents, latest a detractor
    {"account_id": "big", "score": 10, "timestamp": "2024-01-01"},
    {"account_id": "big", "score": 9, "timestamp": "2024-02-01"},
    {"account_id": "big", "score": 2, "timestamp": "2024-03-01"},
    # small: one promoter
    {"account_id": "small", "score": 10, "timestamp": "2024-01-05"},
    # mid: one passive
    {"account_id": "mid", "score": 8, "timestamp": "2024-01-05"},
    {"account_id": None, "score": 0},
]
ATTRS = {"big": {"revenue": 900.0, "segment": "enterprise"}, "small": {"revenue": 100.0, "segment": "smb"},
         "mid": {"revenue": None, "segment": "smb"}}


def test_latest_and_mean_account_scores():
    latest = {a.account_id: a for a in account_scores(ANSWERS, ATTRS)}
    assert set(latest) == {"big", "mid", "small"}  # the answer without an account is left out
    assert (latest["big"].n, latest["big"].score, latest["big"].band) == (3, 2.0, "detractor")
    assert latest["big"].nps == pytest.approx(100 * (2 - 1) / 3, abs=1e-3)
    mean = {a.account_id: a for a in account_scores(ANSWERS, ATTRS, method="mean")}
    assert mean["big"].score == pytest.approx(7.0) and mean["big"].band == "passive"


def test_latest_follows_timestamps_not_input_order():
    rows = [{"account_id": "a", "score": 1, "timestamp": "2024-05-01"}, {"account_id": "a", "score": 10, "timestamp": "2024-01-01"}]
    assert account_scores(rows)[0].score == 1.0


def test_mean_between_bands_is_the_lower_band():
    rows = [{"account_id": "a", "score": 6}, {"account_id": "a", "score": 7}]
    assert account_scores(rows, method="mean")[0].band == "detractor"


def test_account_level_nps_counts_each_account_once():
    accounts = account_scores(ANSWERS, ATTRS)
    level = account_level_nps(accounts)
    assert (level.n, level.promoters, level.passives, level.detractors) == (3, 1, 1, 1)
    assert level.nps == 0.0


def test_revenue_weighted_nps_and_risk():
    accounts = account_scores(ANSWERS, ATTRS)
    weighted = revenue_weighted_nps(accounts)
    # promoter revenue 100, detractor revenue 900 of 1000 known
    assert weighted["nps"] == pytest.approx(-80.0)
    assert weighted["accounts"] == 2 and weighted["accounts_without_revenue"] == 1
    risk = revenue_at_risk(accounts)
    assert risk["revenue"] == 900.0 and risk["accounts"] == 1 and risk["share"] == 0.9
    assert risk["detractor_answers"] == 1 and risk["accounts_any_detractor"] == 1


def test_no_revenue_gives_no_weighted_nps():
    accounts = account_scores([{"account_id": "x", "score": 3}])
    assert revenue_weighted_nps(accounts)["nps"] is None
    assert revenue_at_risk(accounts)["share"] is None


def test_segments_and_summary():
    accounts = account_scores(ANSWERS, ATTRS)
    segments = {s["segment"]: s for s in segment_summaries(accounts)}
    assert segments["smb"]["accounts"] == 2 and segments["smb"]["revenue_at_risk"]["revenue"] == 0.0
    assert segments["enterprise"]["revenue_weighted"]["nps"] == -100.0
    whole = summary(accounts)
    assert whole["respondents"] == 5 and whole["respondent_nps"]["n"] == 5


def test_currency_mix_is_refused_unless_chosen():
    attrs = {"a": {"revenue": 1.0, "currency": "EUR"}, "b": {"revenue": 2.0, "currency": "NOK"}}
    with pytest.raises(DataValidationError, match="EUR, NOK"):
        check_currency(attrs)
    assert check_currency(attrs, "EUR") == "EUR"
    assert check_currency({"a": {"revenue": 1.0, "currency": "EUR"}, "c": {"revenue": None, "currency": "USD"}}) == "EUR"


def test_unknown_method_is_refused():
    with pytest.raises(DataValidationError, match="latest"):
        account_scores(ANSWERS, method="median")  # type: ignore[arg-type]


def test_theme_revenue_at_risk_counts_accounts_once():
    answers = [
        {"account_id": "big", "score": 2, "themes": [{"theme": "billing", "sentiment": "negative"}]},
        {"account_id": "big", "score": 3, "themes": [{"theme": "billing", "sentiment": "negative"}]},
        {"account_id": "small", "score": 1, "themes": [{"theme": "billing", "sentiment": "neutral"},
                                                       {"theme": "staff", "sentiment": "positive"}]},
        {"account_id": "small", "score": 10, "themes": [{"theme": "app", "sentiment": "negative"}]},
        {"account_id": None, "score": 0, "themes": [{"theme": "app", "sentiment": "negative"}]},
    ]
    risk = theme_revenue_at_risk(answers, ATTRS)
    assert risk["billing"] == {"revenue_at_risk": 1000.0, "accounts_at_risk": 2, "detractor_answers": 3}
    assert "staff" not in risk  # praise from a detractor puts nothing at risk
    assert risk["app"] == {"revenue_at_risk": 0.0, "accounts_at_risk": 0, "detractor_answers": 1}


def test_rank_by_revenue_at_risk_breaks_ties_by_impact():
    items = [{"theme": "a", "impact": -5.0, "revenue_at_risk": 10.0},
             {"theme": "b", "impact": -1.0, "revenue_at_risk": 500.0},
             {"theme": "c", "impact": -9.0, "revenue_at_risk": 10.0}]
    assert [p["theme"] for p in rank_by_revenue_at_risk(items)] == ["b", "c", "a"]


def test_revenue_weighted_interval_contains_the_value_and_flags_few_accounts():
    accounts = account_scores(ANSWERS, ATTRS)
    weighted = revenue_weighted_nps(accounts)
    assert weighted["ci_low"] <= weighted["nps"] <= weighted["ci_high"]
    assert weighted["too_few"] and "2 accounts with revenue" in weighted["reason"]
    many = account_scores([{"account_id": f"a{i}", "score": [10, 8, 3][i % 3]} for i in range(300)],
                          {f"a{i}": {"revenue": 100.0 + i} for i in range(300)})
    big = revenue_weighted_nps(many)
    assert not big["too_few"] and big["reason"] is None
    assert big["ci_low"] < big["nps"] < big["ci_high"] and big["ci_high"] - big["ci_low"] < 30
    assert revenue_weighted_nps(many) == big  # seeded: the same interval every time
