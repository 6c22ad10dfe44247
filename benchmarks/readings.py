"""Score-aware readings of a model on the authored test split. Run from the repo root:

    python benchmarks/readings.py                   # the shipped default model
    python benchmarks/readings.py --model DIR --split dev

Reports, per language (en, nl, nb, nn):

* ordinary seed answers (no ``irony``/``urgency`` field): overall sentiment accuracy and per-theme polarity
  accuracy given the gold themes, read with the answers' scores and without them, and the number of answers
  whose overall sentiment contradicts every theme's polarity;
* the irony set: the share of ironic answers with a low score (0-6) read negative overall, and the share of
  sincere praise (score 8-10, gold positive) still read positive.

Writes ``benchmarks/results/readings[-SPLIT][-MODEL].json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nps_nlp import FeedbackClassifier  # noqa: E402
from nps_nlp.score_fusion import contradicts  # noqa: E402

LANGS = ("en", "nl", "nb", "nn")


def _share(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def read(clf: FeedbackClassifier, rows: list[dict], with_scores: bool) -> tuple[list, list]:
    """Predicted results (detected themes) and results for the gold themes, with or without scores."""
    texts = [r["text"] for r in rows]
    scores = [r["score"] if with_scores else None for r in rows]
    langs = [r["lang"] for r in rows]
    detected = clf.predict(texts, scores=scores, lang=langs)
    gold = [[t for t in r["themes"] if t in clf.labels_] for r in rows]
    given = clf.predict(texts, scores=scores, lang=langs, themes=gold)
    return detected, given


def seed_block(rows: list[dict], detected: list, given: list) -> dict:
    by_lang: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r, det, giv in zip(rows, detected, given, strict=True):
        for key in (r["lang"], "all"):
            by_lang[key]["sentiment"].append(det.sentiment == r["sentiment"])
            by_lang[key]["contradiction"].append(contradicts(det))
            by_lang[key]["polarity"] += [t.sentiment == r["themes"][t.theme] for t in giv.themes]
    return {lang: {"n": len(b["sentiment"]), "sentiment_accuracy": _share(b["sentiment"]),
                   "theme_polarity_accuracy": _share(b["polarity"]), "n_mentions": len(b["polarity"]),
                   "contradictions": sum(b["contradiction"])} for lang, b in sorted(by_lang.items())}


def irony_block(rows: list[dict], detected: list) -> dict:
    out = {}
    for lang in (*LANGS, "all"):
        idx = [i for i, r in enumerate(rows) if lang in ("all", r["lang"])]
        ironic = [detected[i].sentiment == "negative" for i in idx if rows[i]["irony"] and rows[i]["score"] <= 6]
        sincere = [detected[i].sentiment == "positive" for i in idx
                   if not rows[i]["irony"] and rows[i]["score"] >= 8 and rows[i]["sentiment"] == "positive"]
        out[lang] = {"ironic_low_score_read_negative": _share(ironic), "n_ironic": len(ironic),
                     "sincere_praise_read_positive": _share(sincere), "n_sincere": len(sincere)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    args = parser.parse_args()
    clf = FeedbackClassifier.load(args.model)
    clf.show_progress_bar = False
    rows = [json.loads(line) for line in (ROOT / "data" / "seed" / f"{args.split}.jsonl").open(encoding="utf-8")]
    seed = [r for r in rows if "irony" not in r and "urgency" not in r]
    irony = [r for r in rows if "irony" in r]
    out: dict = {"model": args.model, "split": args.split, "score_fusion": hasattr(clf, "score_fusion_")}
    for name, with_scores in (("with_scores", True), ("without_scores", False)):
        detected, given = read(clf, seed, with_scores)
        out[f"seed_{name}"] = seed_block(seed, detected, given)
        out[f"irony_{name}"] = irony_block(irony, read(clf, irony, with_scores)[0])
    for name in ("seed_with_scores", "seed_without_scores"):
        print(name)
        for lang, b in out[name].items():
            print(f"  {lang:3} n={b['n']:4} sentiment {b['sentiment_accuracy']}  theme polarity "
                  f"{b['theme_polarity_accuracy']} (n={b['n_mentions']})  contradictions {b['contradictions']}")
    for name in ("irony_with_scores", "irony_without_scores"):
        print(name)
        for lang, b in out[name].items():
            print(f"  {lang:3} ironic low-score read negative {b['ironic_low_score_read_negative']} (n={b['n_ironic']})"
                  f"  sincere praise read positive {b['sincere_praise_read_positive']} (n={b['n_sincere']})")
    suffix = ("" if args.split == "test" else f"-{args.split}") + \
        ("" if Path(args.model).resolve() == (ROOT / "models" / "default").resolve() else f"-{Path(args.model).name}")
    target = ROOT / "benchmarks" / "results" / f"readings{suffix}.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"written {target}")


if __name__ == "__main__":
    main()
