import math

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


def test_nps_and_interval_match_hand_computation():
    s = nps([10, 9, 8, 3])
    assert (s.n, s.promoters, s.passives, s.detractors) == (4, 2, 1, 1)
    assert s.nps == 25.0
    se = 100 * math.sqrt((0.75 - 0.25**2) / 4)  # Var = 100^2 ((p+d) - (p-d)^2) / n
    assert s.se == pytest.approx(se, abs=1e-3)
    assert s.ci_low == pytest.approx(25 - 1.959964 * se, abs=1e-3)
    assert s.ci_high == 100.0  # clipped


def test_empty_nps_is_none():
    s = nps([])
    assert s.n == 0 and s.nps is None and s.ci_low is None


def test_change_significance():
    big_gain = nps_change([10] * 80 + [0] * 20, [10] * 20 + [0] * 80)
    assert big_gain.delta == 120.0 and big_gain.significant and big_gain.p_value < 0.001
    noise = nps_change([10, 0, 8, 9], [10, 0, 7, 6])
    assert not noise.significant
    assert nps_change([], [10]).delta is None


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
