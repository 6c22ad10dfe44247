"""Urgency on the authored urgency set (answers of ``data/seed`` with an ``urgency`` field) and alert volume on
the ordinary seed answers. Run from the repo root:

    python benchmarks/urgency.py                    # test split, shipped model and cues
    python benchmarks/urgency.py --split train      # the split the cues were tuned on
    python benchmarks/urgency.py --model DIR --cues my_cues.yaml

Reports, per language, per batch of the set and overall: precision and recall of ``critical``, of "high or
critical" (an alert), the share of gold ``none`` answers that get ``high`` or ``critical`` (false alerts), and on
the ordinary seed answers of the same split the share flagged urgent and the share of answers labelled not urgent
that raise an alert. Writes ``benchmarks/results/urgency[-SPLIT].json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nps_nlp import FeedbackPipeline, UrgencyDetector  # noqa: E402
from nps_nlp.urgency import level_rank  # noqa: E402

ALERT = level_rank("high")


def rows(split: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / "data" / "seed" / f"{split}.jsonl").open(encoding="utf-8")]


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def urgency_metrics(gold: list[str], pred: list[str]) -> dict:
    """Critical precision/recall, alert (high or critical) precision/recall and false alerts on gold ``none``."""
    pairs = list(zip(gold, pred, strict=True))
    crit_tp = sum(g == "critical" and p == "critical" for g, p in pairs)
    alert = [(level_rank(g) >= ALERT, level_rank(p) >= ALERT) for g, p in pairs]
    none = [p for g, p in pairs if g == "none"]
    return {
        "n": len(pairs), "gold": dict(Counter(gold)),
        "critical_precision": _ratio(crit_tp, sum(p == "critical" for p in pred)),
        "critical_recall": _ratio(crit_tp, sum(g == "critical" for g in gold)),
        "alert_precision": _ratio(sum(g and p for g, p in alert), sum(p for _, p in alert)),
        "alert_recall": _ratio(sum(g and p for g, p in alert), sum(g for g, _ in alert)),
        "false_alerts_on_none": _ratio(sum(level_rank(p) >= ALERT for p in none), len(none)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--cues", default=None, help="a cue YAML file (default: the shipped cues)")
    args = parser.parse_args()
    pipe = FeedbackPipeline.load(args.model, UrgencyDetector(cues=args.cues))
    data = rows(args.split)
    answers = pipe.analyze([r["text"] for r in data], [r["score"] for r in data], [r["lang"] for r in data])
    levels = [a.urgency.level for a in answers]
    gold_set = [i for i, r in enumerate(data) if "urgency" in r]
    out: dict = {"split": args.split, "model": args.model, "cues": args.cues or "default"}
    out["urgency_set"] = {"all": urgency_metrics([data[i]["urgency"] for i in gold_set], [levels[i] for i in gold_set])}
    for lang in ("en", "nl", "nb", "nn"):
        idx = [i for i in gold_set if data[i]["lang"] == lang]
        out["urgency_set"][lang] = urgency_metrics([data[i]["urgency"] for i in idx], [levels[i] for i in idx])
    # per batch of the set (the letter of the id: u, v, w, x): a batch written after the cues were tuned is a fresh
    # check of how they carry over to answers nobody tuned them on (see data/README.md)
    by_batch: dict[str, list[int]] = {}
    for i in gold_set:
        by_batch.setdefault(data[i]["id"].split("-")[1], []).append(i)
    out["urgency_set_by_batch"] = {b: urgency_metrics([data[i]["urgency"] for i in idx], [levels[i] for i in idx])
                                   for b, idx in sorted(by_batch.items())}
    ordinary = [i for i, r in enumerate(data) if "urgency" not in r]
    calm = [i for i in ordinary if not data[i].get("urgent")]
    out["seed_answers"] = {
        "n": len(ordinary),
        "share_flagged_urgent": _ratio(sum(answers[i].urgency.urgent for i in ordinary), len(ordinary)),
        "share_not_urgent_flagged": _ratio(sum(answers[i].urgency.urgent for i in calm), len(calm)),
        "levels": dict(Counter(levels[i] for i in ordinary)),
    }
    misses = [{"id": data[i]["id"], "gold": data[i]["urgency"], "predicted": levels[i],
               "reasons": [r.code for r in answers[i].urgency.reasons]}
              for i in gold_set if data[i]["urgency"] != levels[i] and (data[i]["urgency"] == "critical"
                                                                          or levels[i] in ("high", "critical"))]
    out["errors"] = misses
    for name, block in out["urgency_set"].items():
        print(f"{name:4} n={block['n']:4} critical P {block['critical_precision']} R {block['critical_recall']}  "
              f"alert P {block['alert_precision']} R {block['alert_recall']}  false alerts on none "
              f"{block['false_alerts_on_none']}")
    for name, block in out["urgency_set_by_batch"].items():
        print(f"batch {name} n={block['n']:4} critical P {block['critical_precision']} R {block['critical_recall']}  "
              f"false alerts on none {block['false_alerts_on_none']}")
    print("seed answers:", json.dumps(out["seed_answers"]))
    target = ROOT / "benchmarks" / "results" / f"urgency{'' if args.split == 'test' else '-' + args.split}.json"
    target.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(misses)} errors listed in {target}")


if __name__ == "__main__":
    main()
