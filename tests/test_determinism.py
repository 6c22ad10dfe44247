"""The same tags every time: an answer's reading does not depend on the batch it is read in."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _decisions(answer):
    r = answer.result
    themes = tuple(sorted((t.theme, t.sentiment, t.source, (t.evidence.start, t.evidence.end) if t.evidence else None)
                          for t in r.themes))
    return r.lang, r.sentiment, themes, answer.urgency.level, answer.band


def test_two_thousand_seed_answers_read_the_same_in_any_batch(default_model):
    from nps_nlp import FeedbackPipeline

    lines = (ROOT / "data" / "seed" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[:2000]]
    texts, scores = [r["text"] for r in rows], [r["score"] for r in rows]
    pipe = FeedbackPipeline(default_model)
    default_model.show_progress_bar = False

    def read(chunk: int) -> list:
        out = []
        for start in range(0, len(texts), chunk):
            out += pipe.analyze(texts[start : start + chunk], scores[start : start + chunk])
        return out

    ways = {"one batch": read(len(texts)), "chunks of 7": read(7), "chunks of 200": read(200)}
    reference = [_decisions(a) for a in ways["one batch"]]
    for name, answers in ways.items():
        differ = [texts[i] for i, a in enumerate(answers) if _decisions(a) != reference[i]]
        assert not differ, f"{name}: {len(differ)} answers read differently, e.g. {differ[:3]}"
    # and one at a time, for the answers most likely to sit on a threshold: the shortest
    shortest = sorted(range(len(texts)), key=lambda i: len(texts[i]))[:150]
    alone = [pipe.analyze_one(texts[i], scores[i]) for i in shortest]
    assert [_decisions(a) for a in alone] == [reference[i] for i in shortest]
