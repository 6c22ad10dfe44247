import pytest

from nps_nlp.action_points import action_points, passive_drivers
from nps_nlp.errors import DataValidationError
from nps_nlp.taxonomy import load_taxonomy


def t(theme, sentiment):
    return {"theme": theme, "sentiment": sentiment, "confidence": 0.9}


ROWS = [
    (0, [t("billing_payment", "negative")], "nl", "2026-01-03"),
    (2, [t("billing_payment", "negative")], "en", "2026-01-10"),
    (9, [t("staff_attitude", "positive")], "nb", "2026-01-15"),
    (10, [t("staff_attitude", "positive")], "en", "2026-02-01"),
    (8, [t("billing_payment", "negative")], "en", "2026-02-02"),
    (10, [], "en", "2026-02-03"),
    (5, [t("billing_payment", "negative"), t("staff_attitude", "positive")], "nn", "2026-02-04"),
    (9, [], "nl", "2026-02-05"),
    (7, [], "nl", "2026-02-06"),
    (3, [], "en", "2026-02-07"),
]


@pytest.fixture
def responses():
    return [{"id": str(i), "score": s, "themes": th, "lang": lang, "timestamp": ts, "text": f"answer {i}"}
            for i, (s, th, lang, ts) in enumerate(ROWS)]


def test_leave_one_out_impact_matches_hand_computation(responses):
    points = action_points(responses, taxonomy=load_taxonomy())
    assert [p.theme for p in points] == ["billing_payment", "staff_attitude"]
    billing, staff = points
    # all: 4 promoters, 2 passives, 4 detractors -> NPS 0; without billing: 4 promoters, 1 detractor of 6 -> 50
    assert billing.impact == pytest.approx(-50.0)
    assert billing.nps_with == pytest.approx(-75.0) and billing.nps_without == pytest.approx(50.0)
    # without staff: 2 promoters, 3 detractors of 7
    assert staff.impact == pytest.approx(100 * 3 / 7 - 100 * 2 / 7 + 0.0, abs=1e-2)
    assert billing.count == 4 and billing.share == 0.4 and billing.negative == 4 and billing.net_sentiment == -1.0
    assert billing.team == "finance" and billing.label
    low, high = billing.impact_ci
    assert low <= billing.impact <= high and low < high


def test_trend_and_quotes(responses):
    billing = action_points(responses, period="month")[0]
    assert [p["period"] for p in billing.trend] == ["2026-01-01", "2026-02-01"]
    assert billing.trend[0]["count"] == 2 and billing.trend[0]["share"] == pytest.approx(2 / 3, abs=1e-3)
    assert billing.share_change == pytest.approx(100 * (2 / 7 - 2 / 3), abs=0.01)
    langs = [q.lang for q in billing.quotes]
    assert len(billing.quotes) == 3 and len(set(langs)) == 3  # one language after another
    assert all(q.sentiment == "negative" for q in billing.quotes)


def test_reproducible_bootstrap(responses):
    a = action_points(responses, random_state=1)[0].impact_ci
    b = action_points(responses, random_state=1)[0].impact_ci
    assert a == b


def test_min_count_and_empty(responses):
    assert [p.theme for p in action_points(responses, min_count=4)] == ["billing_payment"]
    assert action_points([{"score": None, "themes": []}]) == []
    with pytest.raises(DataValidationError, match="missing"):
        action_points([{"score": 3}])
    with pytest.raises(DataValidationError, match="outside 0-10"):
        action_points([{"score": 12, "themes": []}])


def test_passive_drivers(responses):
    drivers = passive_drivers(responses)
    assert drivers[0].theme == "billing_payment"
    # 2 passives (scores 8 and 7), one complains about billing; no promoter does
    assert drivers[0].passive_share == 0.5 and drivers[0].promoter_share == 0.0 and drivers[0].gap == 50.0
    assert drivers[0].quotes[0].score == 8
    low, high = drivers[0].gap_ci
    assert low <= drivers[0].gap <= high and high - low > 0
    # 2 passives and 4 promoters: far too few to call the gap significant
    assert drivers[0].too_few and not drivers[0].significant
    assert drivers[0].reason.startswith("too few answers: 2 passives, 4 promoters")


def _answers(band_rows):
    """Tagged answers from (score, how many, how many of them mention the theme negatively)."""
    out = []
    for score, count, mention in band_rows:
        out += [{"score": score, "themes": [t("billing_payment", "negative")] if i < mention else []} for i in range(count)]
    return out


def test_passive_drivers_list_only_a_positive_gap():
    # a quarter of promoters but only a tenth of passives mention billing: a negative gap, so not a driver
    rows = _answers([(8, 40, 4), (10, 40, 10)])
    assert passive_drivers(rows) == []
    assert passive_drivers(_answers([(8, 40, 4), (10, 40, 4)])) == []  # a gap of zero is no driver either


def test_passive_driver_is_significant_with_enough_answers():
    drivers = passive_drivers(_answers([(8, 40, 20), (10, 40, 2)]))
    (billing,) = drivers
    assert billing.gap == 45.0 and not billing.too_few and billing.reason is None
    assert billing.significant and 0 < billing.gap_ci[0] < billing.gap < billing.gap_ci[1]
    assert passive_drivers(_answers([(8, 40, 20), (10, 40, 2)]), min_n=50)[0].too_few
    with pytest.raises(ValueError, match="min_n"):
        passive_drivers(_answers([(8, 1, 1)]), min_n=-1)


def test_one_passive_has_an_interval_that_is_not_zero_width():
    (only,) = passive_drivers(_answers([(7, 1, 1)]))
    assert only.gap == 100.0 and only.gap_ci[1] - only.gap_ci[0] > 50
    assert only.too_few and not only.significant


def test_points_and_drivers_from_counts_equal_those_of_the_answers(responses):
    """What a database counts itself (GROUP BY) gives the same action points and passives' drivers."""
    from nps_nlp.action_points import ThemeCounts, drivers_from_counts, points_from_counts

    # ROWS by hand: billing is mentioned (negatively) by 1 promoter, 1 passive and 2 detractors, staff (positively)
    # by 2 promoters and 1 detractor; 4 promoters, 2 passives, 4 detractors in all; months 2026-01 (3), 2026-02 (7)
    counts = [ThemeCounts("billing_payment", (0, 1, 3), (0, 1, 3), {"negative": 4}, (0, 1, 3), {"2026-01-01": 2, "2026-02-01": 2}),
              ThemeCounts("staff_attitude", (2, 0, 1), (0, 0, 0), {"positive": 3}, (0, 0, 0), {"2026-01-01": 1, "2026-02-01": 2})]
    billing = action_points(responses, load_taxonomy(), period="month", n_quotes=0)
    assert [p.to_dict() for p in points_from_counts(counts, (4, 2, 4), load_taxonomy(), period_totals={"2026-01-01": 3, "2026-02-01": 7})] \
        == [p.to_dict() for p in billing]
    drivers = passive_drivers(responses, n_quotes=0)
    assert [d.to_dict() for d in drivers_from_counts(counts, (4, 2, 4))] == [d.to_dict() for d in drivers]
    assert points_from_counts([], (0, 0, 0)) == [] and drivers_from_counts(counts, (4, 0, 4)) == []


def test_quotes_take_the_best_answer_of_each_language_first():
    from nps_nlp.action_points import rank_quotes

    # (position, sentiment, confidence, language): negative first, then the most confident, then the earliest
    rows = [(0, "positive", 0.99, "en"), (1, "negative", 0.6, "en"), (2, "negative", 0.9, "en"), (3, "neutral", 0.9, "nl"),
            (4, "negative", 0.9, "en"), (5, "mixed", 0.95, "nb")]
    assert rank_quotes(rows, 3) == [2, 5, 3]  # an unknown sentiment ranks as neutral
    assert rank_quotes([r for r in rows if r[3] == "en"], 3) == [2, 4, 1]  # one language: the best three
    assert rank_quotes(rows, 0) == [] and rank_quotes([], 2) == []
