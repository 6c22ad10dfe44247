"""Evidence spans on real text: does the clause a theme is shown with hold what the theme is about?

    python benchmarks/evidence.py [--langs en nl] [--model-en DIR] [--model-nl DIR]

SemEval-2016 restaurant sentences carry, per opinion, its category and the character span of its target
("the *waiter* was rude"). A model is trained on the train part (the frozen recipe of ``nps-nlp train``;
``--model-LANG`` reuses a saved one) and run on the held-out dev part (``train_dev_split``, as in
``accuracy.py``). Scored: every predicted theme that is also gold, with an explicit target, in a sentence the
classifier splits into several clauses where the theme's targets are *not* in every clause (elsewhere any
clause would do). A hit: the evidence span overlaps a target of that category.

The product's two evidence modes (``NPS_EVIDENCE``, see ``nps_nlp/_settings.py``) are scored side by side:

* ``context`` (default): the clause's token states cut out of the sentence's encoding (no extra encoder pass);
* ``clauses``: each clause encoded on its own;
* and two references: ``first_clause`` (always the first clause) and ``chance`` (a clause drawn at random).

Also, per mode, the per-theme polarity on multi-clause sentences (gold polarity, predicted themes) and the
answers/s of ``predict`` on the dev sentences.
Writes benchmarks/results/evidence.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import SEMEVAL, semeval  # noqa: E402  (the same files and dev split as the accuracy figures)

from nps_nlp import FeedbackClassifier  # noqa: E402
from nps_nlp._settings import get_settings  # noqa: E402
from nps_nlp.language import SUPPORTED  # noqa: E402
from nps_nlp.text import split_clauses  # noqa: E402


def target_spans(example) -> dict[str, list[tuple[int, int]]]:
    """Category -> character spans of its explicit targets (``NULL`` targets have no span)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for o in example.meta.get("opinions", []):
        if o.get("target") not in (None, "NULL") and o.get("from") is not None and o["to"] > o["from"]:
            spans.setdefault(o["category"], []).append((o["from"], o["to"]))
    return spans


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < b and a < end for a, b in spans)


def predict(clf: FeedbackClassifier, texts: list[str], evidence: str) -> list:
    os.environ["NPS_EVIDENCE"] = evidence
    get_settings.cache_clear()
    return clf.predict(texts)


def score(clf: FeedbackClassifier, dev: list) -> dict:
    texts = [e.text for e in dev]
    predict(clf, texts[:64], "clauses")  # warm up (language detector, lexical model, first encoder calls)
    started = time.perf_counter()
    results = predict(clf, texts, "clauses")
    clauses_s = time.perf_counter() - started
    started = time.perf_counter()
    context = predict(clf, texts, "context")
    context_s = time.perf_counter() - started
    hits = {"clauses": 0.0, "context": 0.0, "first_clause": 0.0, "chance": 0.0}
    pairs, polar, polar_right = 0, {"clauses": 0, "context": 0}, {"clauses": 0, "context": 0}
    for example, result, other in zip(dev, results, context, strict=True):
        clauses = split_clauses(example.text, result.lang if result.lang in SUPPORTED else None)
        if len(clauses) < 2:
            continue
        spans = target_spans(example)
        for mode, res in (("clauses", result), ("context", other)):
            for theme in res.themes:
                gold = (example.themes or {}).get(theme.theme)
                if gold is not None:
                    polar[mode] += 1
                    polar_right[mode] += theme.sentiment == gold
        other_evidence = {t.theme: t.evidence for t in other.themes}
        for theme in result.themes:
            if theme.theme not in spans or theme.evidence is None:
                continue
            targets = spans[theme.theme]
            covering = sum(overlaps(c.start, c.end, targets) for c in clauses)
            if covering == len(clauses):
                continue
            pairs += 1
            hits["clauses"] += overlaps(theme.evidence.start, theme.evidence.end, targets)
            ev = other_evidence.get(theme.theme)  # the same themes are detected either way (answer-level scores)
            hits["context"] += ev is not None and overlaps(ev.start, ev.end, targets)
            hits["first_clause"] += overlaps(clauses[0].start, clauses[0].end, targets)
            hits["chance"] += covering / len(clauses)
    return {"pairs": pairs, **{k: round(v / max(1, pairs), 4) for k, v in hits.items()},
            "polarity_multi_clause": {k: round(polar_right[k] / max(1, polar[k]), 4) for k in polar},
            "polarity_n": polar["clauses"],
            "answers_per_s": {"clauses": round(len(texts) / clauses_s, 1), "context": round(len(texts) / context_s, 1)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--langs", nargs="+", default=["en", "nl"], choices=["en", "nl"])
    parser.add_argument("--model-en", type=Path, help="a saved model trained on SemEval en (skips training)")
    parser.add_argument("--model-nl", type=Path, help="a saved model trained on SemEval nl (skips training)")
    args = parser.parse_args()
    if not SEMEVAL.exists():
        sys.exit(f"{SEMEVAL} not found: the external data must sit at ../shared/data")
    results = {}
    for lang in args.langs:
        train, dev = semeval(lang)
        saved = getattr(args, f"model_{lang}")
        started = time.perf_counter()
        if saved is not None:
            clf = FeedbackClassifier.load(saved)
        else:
            clf = FeedbackClassifier(show_progress_bar=False).fit([e.text for e in train], [e.themes for e in train])
        fitted = time.perf_counter() - started
        started = time.perf_counter()
        results[f"semeval_{lang} dev"] = {**score(clf, dev), "train_s": round(fitted),
                                          "score_s": round(time.perf_counter() - started)}
        print(json.dumps({lang: results[f"semeval_{lang} dev"]}), flush=True)
    out = ROOT / "benchmarks" / "results" / "evidence.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous.update(results)
    out.write_text(json.dumps(previous, indent=2))
    print(f"\n{'set':16s} {'pairs':>6s} {'clauses':>8s} {'context':>8s} {'first':>6s} {'chance':>7s} "
          f"{'polarity clauses/context':>25s} {'answers/s clauses/context':>26s}")
    for name, r in results.items():
        pol, speed = r["polarity_multi_clause"], r["answers_per_s"]
        print(f"{name:16s} {r['pairs']:>6d} {r['clauses']:>8.3f} {r['context']:>8.3f} {r['first_clause']:>6.3f} "
              f"{r['chance']:>7.3f} {pol['clauses']:>12.3f} / {pol['context']:<10.3f} {speed['clauses']:>12} / {speed['context']}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
