"""Add newly written answers to the seed splits: ``python data/add_answers.py NEW.jsonl [...]``.

Each answer goes to ``train``, ``dev`` or ``test`` by a stable hash of its id (or of its ``group``, when it has
one: answers that tell the same situation in several languages share a group and so a split, so that a test answer
never has its translation in train), so a split never changes when answers are added. Ordinary answers split
70/15/15; the evaluation sets (answers with an ``irony`` or an ``urgency`` field) split 50/15/35, so that their
test split has enough answers per language. Ids already in a split are skipped; every answer is checked against
the format of ``data/README.md`` first.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

SEED = Path(__file__).parent / "seed"
THEMES = {"customer_service", "staff_attitude", "price_value", "billing_payment", "delivery_waiting",
          "product_quality", "product_range", "reliability_outages", "website_app", "communication", "ease_effort",
          "contract_cancellation", "onboarding_setup", "trust_security", "store_facilities"}
POLARITIES = {"negative", "neutral", "positive"}
URGENCY = {"none", "high", "critical"}


def split_of(answer: dict) -> str:
    """``train``, ``dev`` or ``test`` from the sha256 of the group (the id when there is none)."""
    unit = int.from_bytes(hashlib.sha256(str(answer.get("group") or answer["id"]).encode()).digest()[:8], "big") / 2**64
    train, dev = (0.50, 0.65) if "irony" in answer or "urgency" in answer else (0.70, 0.85)
    return "train" if unit < train else "dev" if unit < dev else "test"


def problems(answer: dict) -> list[str]:
    """What is wrong with one answer (empty when it is fine)."""
    out = []
    if not isinstance(answer.get("text"), str) or not answer["text"].strip():
        out.append("empty text")
    if answer.get("lang") not in {"en", "nl", "nb", "nn"}:
        out.append(f"lang {answer.get('lang')!r}")
    if not isinstance(answer.get("score"), int) or not 0 <= answer["score"] <= 10:
        out.append(f"score {answer.get('score')!r}")
    if answer.get("sentiment") not in POLARITIES:
        out.append(f"sentiment {answer.get('sentiment')!r}")
    themes = answer.get("themes")
    if not isinstance(themes, dict) or set(themes) - THEMES or set(themes.values()) - POLARITIES:
        out.append(f"themes {themes!r}")
    if "group" in answer and (not isinstance(answer["group"], str) or not answer["group"]):
        out.append(f"group {answer['group']!r}")
    if "urgency" in answer and answer["urgency"] not in URGENCY:
        out.append(f"urgency {answer['urgency']!r}")
    return out


def main(paths: list[str]) -> None:
    known = {json.loads(line)["id"] for part in SEED.glob("*.jsonl") for line in part.open(encoding="utf-8")}
    added = {"train": [], "dev": [], "test": []}
    bad = []
    for path in paths:
        for n, line in enumerate(Path(path).open(encoding="utf-8"), 1):
            if not line.strip():
                continue
            answer = json.loads(line)
            wrong = problems(answer)
            if wrong:
                bad.append(f"{path}:{n} {answer.get('id')}: {', '.join(wrong)}")
            elif answer["id"] not in known:
                known.add(answer["id"])
                added[split_of(answer)].append(answer)
    if bad:
        sys.exit("nothing added; fix these answers first:\n" + "\n".join(bad))
    for split, answers in added.items():
        with (SEED / f"{split}.jsonl").open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in answers)
    print(", ".join(f"{split} +{len(answers)}" for split, answers in added.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
