import math

import numpy as np
import pytest

from nps_nlp.errors import DataValidationError
from nps_nlp.nps import NpsSummary, nps, nps_band, nps_change, nps_trend


@pytest.mark.parametrize(("score", "band"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                                             (9, "promoter"), (10, "promoter")])
def test_bands(score, band):
    assert nps_band(score) == band


@pytest.mark.parametrize("bad", [-1, 11, "7", None, True])
def test_band_rejects_bad_scores(bad):
    with pytest.raises(DataValidationError):
        nps_band(bad)


def test_wald_interval_matches_hand_computation():
    s = nps([10, 9, 8, 3], interval="wald")
    assert (s.n, s.promoters, s.passives, s.detractors) == (4, 2, 1, 1)
    assert s.nps == 25.0 and s.interval == "wald"
    se = 100 * math.sqrt((0.75 - 0.25**2) / 4)  # Var = 100^2 ((p+d) - (p-d)^2) / n
    assert s.se == pytest.approx(se, abs=1e-3)
    assert s.ci_low == pytest.approx(25 - 1.959964 * se, abs=1e-3)
    assert s.ci_high == 100.0  # clipped


def test_adjusted_wald_is_the_default_and_matches_hand_computation():
    s = nps([10] * 30 + [8] * 10 + [2] * 20)  # 30 promoters, 10 passives, 20 detractors
    assert s.interval == "adjusted-wald" and s.nps == pytest.approx(100 * (30 - 20) / 60, abs=1e-3)
    p, d, n = 30.75 / 63, 20.75 / 63, 63  # 3/4 promoter and 3/4 detractor added, n + 3
    se = 100 * math.sqrt(((p + d) - (p - d) ** 2) / n)
    assert s.se == pytest.approx(se, abs=1e-3)
    assert s.ci_low == pytest.approx(100 * (p - d) - 1.959964 * se, abs=1e-3)
    assert s.ci_high == pytest.approx(100 * (p - d) + 1.959964 * se, abs=1e-3)


@pytest.mark.parametrize("score", range(11))
def test_one_answer_never_gives_a_zero_width_interval(score):
    s = nps([score])
    assert s.ci_high - s.ci_low > 50  # one answer says little
    assert s.ci_low <= s.nps <= s.ci_high
    assert s.too_few and "too few answers" in s.reason


@pytest.mark.parametrize("scores", [[10] * 500, [0] * 500, [8] * 500, [10, 0] * 250])
def test_unanimous_or_split_answers_still_have_an_interval(scores):
    s = nps(scores)
    assert s.ci_high - s.ci_low > 0 and s.ci_low <= s.nps <= s.ci_high
    assert not s.too_few and s.reason is None


def test_empty_nps_is_none():
    s = nps([])
    assert s.n == 0 and s.nps is None and s.ci_low is None
    assert s.too_few and s.reason == "no answers"


def test_summary_flags_follow_min_n():
    assert nps([9] * 29).too_few and not nps([9] * 30).too_few
    assert "29" in nps([9] * 29).reason and "30" in nps([9] * 29).reason
    assert not nps([9] * 5, min_n=5).too_few and nps([9] * 5, min_n=5).min_n == 5
    with pytest.raises(ValueError, match="min_n"):
        nps([9], min_n=-1)
    with pytest.raises(ValueError, match="interval"):
        nps([9], interval="exact")


def test_change_significance():
    big_gain = nps_change([10] * 80 + [0] * 20, [10] * 20 + [0] * 80)
    assert big_gain.delta == 120.0 and big_gain.significant and big_gain.p_value < 0.001
    noise = nps_change([10, 0, 8, 9], [10, 0, 7, 6])
    assert not noise.significant
    assert nps_change([], [10]).delta is None and nps_change([], [10]).too_few


@pytest.mark.parametrize(("a", "b"), [(10, 0), (0, 10), (9, 6), (10, 10), (7, 3)])
def test_one_answer_against_one_is_never_significant(a, b):
    change = nps_change([a], [b])
    assert not change.significant and change.too_few
    assert change.reason.startswith("too few answers: 1 now, 1 before")
    assert change.p_value > 0.05 and change.ci_high - change.ci_low > 0
    assert not nps_change([a], [b], min_n=0).significant  # the interval alone does not call it either


def test_change_needs_min_n_on_each_side():
    gain = ([10] * 20, [0] * 20)  # a big change, but 20 answers a side
    assert not nps_change(*gain).significant and nps_change(*gain).too_few
    assert "20 now, 20 before" in nps_change(*gain).reason
    assert nps_change(*gain, min_n=20).significant and not nps_change(*gain, min_n=20).too_few
    lopsided = nps_change([10] * 200, [0] * 29)
    assert lopsided.too_few and not lopsided.significant
    enough = nps_change([10] * 30, [0] * 30)
    assert enough.significant and enough.reason is None and enough.ci_low <= enough.delta <= enough.ci_high


def test_trend_per_month_with_change():
    scores = [10, 0, 9, 9, 3]
    stamps = ["2026-01-05T10:00:00Z", "2026-01-20T10:00:00Z", "2026-02-01T00:00:00Z", "2026-02-27T00:00:00Z",
              "2026-02-28T12:00:00+01:00"]
    trend = nps_trend(scores, stamps, period="month")
    assert [t["period"] for t in trend] == ["2026-01-01", "2026-02-01"]
    assert trend[0]["nps"] == 0.0 and trend[0]["change"] is None
    assert trend[1]["nps"] == pytest.approx(100 * (2 - 1) / 3, abs=1e-3)
    assert trend[1]["change"]["delta"] == pytest.approx(33.3333, abs=1e-3)


def test_trend_rejects_unknown_period():
    with pytest.raises(ValueError, match="period"):
        nps_trend([1], ["2026-01-01"], period="year")


def test_summary_from_counts_roundtrip():
    assert NpsSummary.from_counts(3, 0, 1).nps == 50.0


def test_trend_changes_carry_the_flags():
    stamps = ["2026-03-01T09:00:00Z"] * 3 + ["2026-03-02T09:00:00Z"] * 4
    trend = nps_trend([10, 10, 10, 0, 0, 0, 0], stamps, period="day")
    change = trend[1]["change"]
    assert trend[1]["too_few"] and change["too_few"] and not change["significant"]
    assert change["reason"].startswith("too few answers: 4 now, 3 before")


def test_false_alarms_on_unchanging_data_stay_at_or_under_five_percent():
    """Day-over-day changes on data with no real change, 3-200 answers a day, through ``nps_trend``."""
    rng = np.random.default_rng(2024)
    alarms = changes = 0
    for rates in ((0.5, 0.3, 0.2), (0.3, 0.3, 0.4), (0.9, 0.08, 0.02)):
        sizes = rng.integers(3, 201, size=1000)
        scores = np.concatenate([rng.choice([10, 8, 3], size=n, p=rates) for n in sizes]).tolist()
        days = np.repeat(np.datetime64("2026-01-01") + np.arange(len(sizes)), sizes)
        trend = nps_trend(scores, [str(d) for d in days], period="day")
        alarms += sum(t["change"]["significant"] for t in trend[1:])
        changes += len(trend) - 1
    assert changes == 2997
    assert alarms / changes <= 0.05
