"""What an organisation's history of answers with scores, but without labels, adds to a model.

Splits the ordinary seed train answers in two by a stable hash of the id: one half keeps its labels, the other
is "history" (text and score only). Trains a model on the labelled half alone, then the same recipe with the
history as self-training data whose scores are weak sentiment labels (``data.unlabelled_path`` with a score
column; ``training/self_training.py``), and scores both, reading text alone, on

* the seed test split (ordinary answers): overall sentiment accuracy and theme polarity given gold themes;
* real English answers the models never saw: the airline dev split (``../shared/data``), a sample of tweets
  chosen by a hash of the tweet id: overall sentiment accuracy.

    python benchmarks/history.py [--airline 1500]

Writes ``benchmarks/results/history.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nps_nlp import FeedbackClassifier  # noqa: E402
from nps_nlp.datasets import load_examples  # noqa: E402
from training.self_training import self_train  # noqa: E402

AIRLINE = ROOT.parent / "shared" / "data" / "twitter_airline_en" / "Tweets.dev.csv"


def _half(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % 2


def _seed(split: str) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "data" / "seed" / f"{split}.jsonl").read_text("utf-8").splitlines()]
    return [r for r in rows if "irony" not in r and "urgency" not in r]


def score(model: FeedbackClassifier, test: list[dict], airline: list) -> dict:
    model.show_progress_bar = False
    texts = [r["text"] for r in test]
    read = model.predict(texts, lang=[r["lang"] for r in test])
    gold = [[t for t in r["themes"] if t in model.labels_] for r in test]
    given = model.predict(texts, lang=[r["lang"] for r in test], themes=gold)
    polarity = [t.sentiment == r["themes"][t.theme] for r, g in zip(test, given, strict=True) for t in g.themes]
    out = {"seed_sentiment_accuracy": round(sum(a.sentiment == r["sentiment"] for a, r in zip(read, test, strict=True))
                                            / len(test), 4),
           "seed_theme_polarity_accuracy": round(sum(polarity) / len(polarity), 4)}
    if airline:
        tweets = model.predict([e.text for e in airline], lang="en")
        out["airline_sentiment_accuracy"] = round(sum(t.sentiment == e.sentiment for t, e in zip(tweets, airline,
                                                                                                strict=True))
                                                  / len(airline), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--airline", type=int, default=1500, help="tweets of the airline dev split to score (0: none)")
    args = parser.parse_args()
    train = _seed("train")
    labelled = [r for r in train if _half(r["id"]) == 0]
    history = [r for r in train if _half(r["id"]) == 1]
    test = _seed("test")
    airline = []
    if args.airline and AIRLINE.is_file():
        tweets = load_examples(AIRLINE, format="airline")
        airline = sorted(tweets, key=lambda e: hashlib.sha256(e.id.encode()).hexdigest())[: args.airline]
    settings = {"ensemble": 1, "random_state": 0, "show_progress_bar": False}
    started = time.perf_counter()
    base = FeedbackClassifier(**settings).fit([r["text"] for r in labelled], [r["themes"] for r in labelled],
                                              sentiment=[r["sentiment"] for r in labelled])
    results = {"n_labelled": len(labelled), "n_history": len(history), "n_test": len(test), "n_airline": len(airline),
               "labelled_only": {**score(base, test, airline), "seconds": round(time.perf_counter() - started)}}
    started = time.perf_counter()
    adapted, info = self_train(FeedbackClassifier(**settings), [r["text"] for r in labelled],
                               [r["themes"] for r in labelled], [r["text"] for r in history],
                               sentiment=[r["sentiment"] for r in labelled], scores=[r["score"] for r in history])
    results["with_history_scores"] = {**score(adapted, test, airline), "seconds": round(time.perf_counter() - started),
                                      "pseudo_labelled": info["pseudo_labelled"],
                                      "weak_sentiment": info.get("weak_sentiment", {})}
    print(json.dumps(results, indent=2))
    (ROOT / "benchmarks" / "results" / "history.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
