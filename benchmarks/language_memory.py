"""Memory, speed and decisions of the language detector, the current code against an earlier commit's.

    python benchmarks/language_memory.py [--baseline REV] [--answers 2000] [--repeats 2]

The baseline is ``nps_nlp/language.py`` as it was at ``--baseline`` (by default the commit before the two-stage
detector: one high-accuracy lingua detector over all fourteen languages), read with ``git show`` and loaded as
a module beside the current file; neither imports the rest of the package.

* ``memory``: for each detector, in a fresh process (``--repeats`` times, the two alternating), RSS after
  importing lingua, after building the detector and detecting ``--answers`` seed answers (evenly spread over
  all splits; lingua loads its models on first use), the process's peak RSS, the increase still held after a
  second pass and ``malloc_trim`` (as a tagging job holds it once it hands freed pages back), and ms per answer
  for the first pass (with the models' loading) and for the second (warm).
* ``agreement``: every seed answer (train, dev, test) through both detectors: per gold language, how often
  each agrees with the gold ``lang``, and how many decisions changed (each change listed); without a hint, and
  with the gold language as the hint (as a survey's language would be).
* ``foreign``: short answers in German, Swedish, Danish, French, Spanish, Italian, Portuguese, Polish and
  Turkish, written for this benchmark (three batches, the later ones written to check choices made on the
  earlier ones): how many come out ``other`` with each detector, how many the current one newly takes as one
  of ours, and how many it newly calls ``other``; without a hint, and with ``nl`` and ``nb`` as the hint (a
  Dutch or Norwegian survey answered in another language).

Results go to benchmarks/results/language_memory.json, with the machine's load average.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "language_memory.json"
BASELINE = "63071a0"  # the last commit with the single high-accuracy detector over all fourteen languages
OURS = ("nl", "nb", "nn", "en")

FOREIGN = {
    "first": {
        "de": ["Der Kundenservice war sehr freundlich und hat mir schnell geholfen.",
               "Die Rechnung war zu hoch, ich bin nicht zufrieden.", "Leider funktioniert das Internet seit Tagen nicht.",
               "Alles bestens, vielen Dank!", "Zu teuer für das, was man bekommt.", "Ich warte immer noch auf eine Antwort.",
               "Schnelle Lieferung, gute Qualität.", "Nie wieder, schlechter Service.",
               "Die Mitarbeiterin im Laden war super nett.", "Ganz okay, aber die App stürzt oft ab.", "Sehr zufrieden",
               "Schlecht"],
        "sv": ["Personalen var trevlig men fakturan var fel igen.", "Jag är mycket nöjd med servicen.",
               "Det tog alldeles för lång tid att få svar.", "Bra pris och snabb leverans.", "Appen fungerar inte som den ska.",
               "Tack för hjälpen, allt fungerar nu.", "Dålig kundtjänst, ingen svarade i telefon.",
               "Jättebra, jag rekommenderar er gärna.", "Inte nöjd alls", "Mycket bra", "Varför är det så dyrt?",
               "Jag har väntat i tre veckor på min beställning."],
        "da": ["Personalet var søde, men regningen var forkert igen.", "Jeg er meget tilfreds med jeres service.",
               "Det tog alt for lang tid at få et svar.", "Hurtig levering og god kvalitet.",
               "Appen virker ikke, og ingen hjælper mig.", "Tak for hjælpen, nu virker det hele.",
               "Dårlig kundeservice, jeg ventede en time i telefonen.", "Rigtig godt, jeg vil anbefale jer til andre.",
               "Ikke tilfreds", "Meget godt", "Hvorfor er prisen steget igen?", "Jeg har ventet tre uger på min pakke."],
        "fr": ["Le personnel était aimable mais la facture était encore fausse.", "Je suis très satisfait du service.",
               "Trop cher pour ce que c'est.", "Livraison rapide, produit de bonne qualité.",
               "L'application ne fonctionne pas depuis hier.", "Merci pour votre aide, tout marche maintenant.",
               "Service client nul, personne ne répond.", "J'attends toujours mon remboursement.", "Parfait",
               "Pas content du tout"],
        "es": ["El personal fue amable pero la factura estaba mal otra vez.", "Estoy muy contento con el servicio.",
               "Demasiado caro para lo que ofrecen.", "Entrega rápida y buena calidad.",
               "La aplicación no funciona desde ayer.", "Gracias por la ayuda, ya funciona todo.",
               "Pésima atención al cliente, nadie contesta.", "Sigo esperando mi reembolso.", "Muy bien", "Nada satisfecho"],
    },
    "second": {
        "fr": ["Très bon accueil en magasin.", "La connexion coupe tous les soirs.", "Je recommande vivement.",
               "Facture incompréhensible.", "Bravo à toute l'équipe !", "Délai de livraison beaucoup trop long."],
        "es": ["Todo perfecto, gracias.", "La conexión se corta cada noche.", "Lo recomiendo a todos mis amigos.",
               "No entiendo la factura.", "El técnico llegó tarde.", "Buen servicio"],
        "it": ["Servizio ottimo, grazie mille.", "La connessione cade ogni sera.", "Il personale è stato molto gentile.",
               "Troppo caro", "Non sono soddisfatto della fattura.", "Consegna veloce"],
        "pt": ["Muito obrigado pela ajuda.", "A internet está sempre a cair.", "Atendimento péssimo.",
               "Gostei muito do serviço.", "O preço subiu outra vez."],
        "pl": ["Bardzo dobra obsługa, dziękuję.", "Internet ciągle nie działa.", "Za drogo.", "Polecam wszystkim."],
        "tr": ["Çok memnun kaldım, teşekkürler.", "İnternet sürekli kesiliyor.", "Fiyatlar çok yüksek.",
               "Personel çok ilgiliydi."],
        "de": ["Klappt alles prima.", "Kundendienst nicht erreichbar.", "Gerne wieder!", "Viel zu lange gewartet."],
        "sv": ["Snabb och trevlig service.", "Krånglig faktura.", "Kommer att rekommendera er.", "Bra men dyrt"],
        "da": ["Venlig og hurtig betjening.", "Fakturaen er svær at forstå.", "Godt tilfreds", "Alt for dyrt"],
    },
    "third": {
        "fr": ["Rien à redire, merci.", "Le technicien était en retard.", "Trop de pubs dans l'application.",
               "Personne ne m'a rappelé.", "Service au top", "Prix correct"],
        "es": ["Muy mala experiencia.", "Me cobraron dos veces.", "Atención rápida y amable.", "Precio justo",
               "Nadie me ayudó.", "Volveré seguro"],
        "it": ["Tutto bene, grazie.", "Mi hanno addebitato due volte.", "Assistenza lenta e poco chiara.",
               "Prezzo onesto", "Nessuno mi ha richiamato.", "Molto soddisfatto"],
        "pt": ["Tudo certo, obrigado.", "Cobraram duas vezes.", "O técnico foi muito simpático.", "Preço justo",
               "Ninguém me ligou de volta."],
        "pl": ["Wszystko w porządku.", "Technik się spóźnił.", "Obsługa klienta fatalna.", "Szybko i sprawnie"],
        "tr": ["Her şey yolunda, sağ olun.", "İki kez ücret alındı.", "Teknisyen geç geldi.", "Hızlı ve kolay"],
        "de": ["Alles gut, danke.", "Techniker kam zu spät.", "Zweimal abgebucht!"],
        "sv": ["Allt bra, tack.", "Teknikern kom för sent.", "Dom drog pengar två gånger."],
        "da": ["Alt i orden, tak.", "Teknikeren kom for sent.", "I har trukket to gange."],
    },
}

WORKER = r"""
import importlib.util, json, resource, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
path, answers_path = sys.argv[1], sys.argv[2]
texts = json.load(open(answers_path, encoding="utf-8"))
import lingua  # the extension module is mapped before the first reading
spec = importlib.util.spec_from_file_location("language_under_test", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module  # dataclasses look their module up there
spec.loader.exec_module(module)
before = status("VmRSS")
detector = module.LanguageDetector()
start = time.perf_counter()
detector.detect_many(texts)
first = time.perf_counter() - start
after = status("VmRSS")
start = time.perf_counter()
detector.detect_many(texts)
warm = time.perf_counter() - start
import ctypes
ctypes.CDLL("libc.so.6").malloc_trim(0)  # what a tagging job holds after it hands freed pages back
trimmed = status("VmRSS")
print(json.dumps({"rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
                  "rss_increase_mb": round(after - before, 1), "rss_increase_trimmed_mb": round(trimmed - before, 1),
                  "rss_anon_mb": round(status("RssAnon"), 1),
                  "rss_file_mb": round(status("RssFile"), 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "ms_per_answer_first": round(first / len(texts) * 1000, 3),
                  "ms_per_answer_warm": round(warm / len(texts) * 1000, 3)}))
"""


def seed_answers() -> list[dict[str, Any]]:
    """Every seed answer, train, dev and test in that order."""
    return [json.loads(line) for split in ("train", "dev", "test")
            for line in (ROOT / "data" / "seed" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def baseline_source(rev: str, workdir: Path) -> Path:
    """``nps_nlp/language.py`` at ``rev``, written to a file in ``workdir``."""
    source = subprocess.run(["git", "show", f"{rev}:nps_nlp/language.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    path = workdir / "language_baseline.py"
    path.write_text(source, encoding="utf-8")
    return path


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def measure(paths: dict[str, Path], texts: list[str], repeats: int, workdir: Path) -> dict[str, Any]:
    """Fresh-process figures per detector: every run, and the median of each figure."""
    answers_path = workdir / "answers.json"
    answers_path.write_text(json.dumps(texts), encoding="utf-8")
    env = {**os.environ, "RAYON_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, path in paths.items():
            proc = subprocess.run([sys.executable, "-c", WORKER, str(path), str(answers_path)], capture_output=True,
                                  text=True, check=False, env=env)
            if proc.returncode:
                raise SystemExit(f"{name} worker failed:\n{proc.stderr}")
            runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    result: dict[str, Any] = {}
    for name, name_runs in runs.items():
        keys = name_runs[0].keys()
        result[name] = {key: sorted(run[key] for run in name_runs)[len(name_runs) // 2] for key in keys}
        result[name]["runs"] = name_runs
    return result


def agreement(old: Any, new: Any, answers: list[dict[str, Any]], hinted: bool) -> dict[str, Any]:
    """Per gold language: agreement of each detector with gold, and the decisions that changed; with ``hinted``
    the gold language is passed as the hint, as a survey's language would be."""
    texts = [a["text"] for a in answers]
    hints = [a["lang"] for a in answers] if hinted else None
    old_langs = [r.lang for r in old.detect_many(texts, hints)]
    new_langs = [r.lang for r in new.detect_many(texts, hints)]
    per: dict[str, Any] = {}
    changes = []
    for answer, before, after in zip(answers, old_langs, new_langs, strict=True):
        gold = answer["lang"]
        row = per.setdefault(gold, {"answers": 0, "baseline_agrees": 0, "current_agrees": 0, "changed": 0})
        row["answers"] += 1
        row["baseline_agrees"] += before == gold
        row["current_agrees"] += after == gold
        if before != after:
            row["changed"] += 1
            changes.append({"id": answer.get("id"), "gold": gold, "baseline": before, "current": after,
                            "text": answer["text"]})
    for row in per.values():
        row["baseline_agreement"] = round(row["baseline_agrees"] / row["answers"], 4)
        row["current_agreement"] = round(row["current_agrees"] / row["answers"], 4)
    total = len(answers)
    return {"answers": total, "changed": len(changes), "unchanged_share": round(1 - len(changes) / total, 5),
            "per_language": dict(sorted(per.items())), "changes": changes}


def foreign(old: Any, new: Any, hint: str | None) -> dict[str, Any]:
    """``other`` per batch and language for both detectors, and the current detector's new leaks and catches;
    ``hint`` is passed with every answer (a survey in one of our languages answered in another)."""
    out: dict[str, Any] = {}
    leaks, catches = [], []
    totals: Counter[str] = Counter()
    for batch, by_lang in FOREIGN.items():
        for lang, texts in by_lang.items():
            before = [r.lang for r in old.detect_many(texts, [hint] * len(texts))]
            after = [r.lang for r in new.detect_many(texts, [hint] * len(texts))]
            out[f"{batch}.{lang}"] = {"answers": len(texts), "baseline_other": before.count("other"),
                                     "current_other": after.count("other")}
            totals.update(answers=len(texts), baseline_other=before.count("other"), current_other=after.count("other"))
            for text, b, a in zip(texts, before, after, strict=True):
                if a in OURS and b not in OURS:
                    leaks.append({"lang": lang, "baseline": b, "current": a, "text": text})
                elif b in OURS and a not in OURS:
                    catches.append({"lang": lang, "baseline": b, "current": a, "text": text})
    return {"total": dict(totals), "newly_taken_as_ours": leaks, "newly_not_ours": catches,
            "per_batch_language": out}


def print_summary(result: dict[str, Any]) -> None:
    for name, m in result["memory"].items():
        print(f"{name:9s} RSS +{m['rss_increase_mb']:.0f} MB (peak {m['peak_rss_mb']:.0f} MB), "
              f"{m['ms_per_answer_first']:.2f} ms/answer first pass, {m['ms_per_answer_warm']:.2f} warm")
    for key, agree in result["agreement"].items():
        print(f"seed answers, {key}: {agree['changed']} of {agree['answers']} decisions changed")
        for lang, row in agree["per_language"].items():
            print(f"  {lang}: gold agreement {row['baseline_agrees']} -> {row['current_agrees']} of {row['answers']}, "
                  f"{row['changed']} changed")
        for change in agree["changes"]:
            print(f"    {change['gold']}: {change['baseline']} -> {change['current']}  {change['text'][:70]}")
    for key, found in result["foreign"].items():
        tot = found["total"]
        print(f"foreign, {key}: 'other' {tot['baseline_other']} -> {tot['current_other']} of {tot['answers']}; newly "
              f"taken as ours {len(found['newly_taken_as_ours'])}, newly not ours {len(found['newly_not_ours'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the detector to compare against")
    parser.add_argument("--answers", type=int, default=2000, help="seed answers per memory run")
    parser.add_argument("--repeats", type=int, default=2, help="fresh-process runs per detector")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    answers = seed_answers()
    step = max(1, len(answers) // args.answers)
    texts = [a["text"] for a in answers[::step][: args.answers]]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"baseline": baseline_source(args.baseline, Path(tmp)), "current": ROOT / "nps_nlp" / "language.py"}
        memory = measure(paths, texts, args.repeats, Path(tmp))
        old = load_module(paths["baseline"], "language_baseline").LanguageDetector()
        new = load_module(paths["current"], "language_current").LanguageDetector()
        result = {"baseline_rev": args.baseline, "memory_answers": len(texts), "memory": memory,
                  "agreement": {"no_hint": agreement(old, new, answers, False),
                                "gold_hint": agreement(old, new, answers, True)},
                  "foreign": {f"hint_{hint}": foreign(old, new, hint) for hint in (None, "nl", "nb")},
                  "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print_summary(result)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
