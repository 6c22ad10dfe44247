"""Small labelled answers for the training tests (imported by the tests and conftest)."""

from __future__ import annotations

import json
from pathlib import Path

ROWS = [
    ("rude staff at the desk", "en", 2, "negative", {"staff_attitude": "negative"}),
    ("friendly staff, very helpful", "en", 9, "positive", {"staff_attitude": "positive"}),
    ("the invoice was wrong, charged twice", "en", 3, "negative", {"billing_payment": "negative"}),
    ("factuur was fout", "nl", 3, "negative", {"billing_payment": "negative"}),
    ("vriendelijk personeel", "nl", 9, "positive", {"staff_attitude": "positive"}),
    ("levering was laat", "nl", 4, "negative", {"delivery_waiting": "negative"}),
    ("feil faktura igjen", "nb", 2, "negative", {"billing_payment": "negative"}),
    ("pakke kom sent", "nb", 5, "negative", {"delivery_waiting": "negative"}),
    ("hyggelig ansatte og rask levering", "nb", 10, "positive",
     {"staff_attitude": "positive", "delivery_waiting": "positive"}),
]


def make_rows(repeat: int = 4) -> list[dict]:
    """``repeat`` copies of ROWS with unique ids (each theme gets at least 3 * repeat examples)."""
    out = []
    for k in range(repeat):
        for i, (text, lang, score, sentiment, themes) in enumerate(ROWS):
            out.append({"id": f"r{k}-{i}", "text": text, "lang": lang, "score": score, "sentiment": sentiment,
                        "themes": themes})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path
