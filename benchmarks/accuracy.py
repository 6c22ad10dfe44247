"""Accuracy on the external data in ../shared/data, with the training recipe `nps-nlp train` uses.

The official SemEval/NoReC test splits are not in ../shared/data, so every external figure here is on a
held-out *dev* split of the train files (``train_dev_split``: stable hash of the review/document id,
20%). Run from the repo root:

    python benchmarks/accuracy.py                       # everything (about 30 min on 2 cores)
    python benchmarks/accuracy.py semeval_en norec      # some tasks
    python benchmarks/accuracy.py --finetune-layers 4   # the same with the top 4 encoder layers trained
    python benchmarks/accuracy.py norec --finetune-layers 4 --epochs 5   # fewer epochs for a large set
    python benchmarks/accuracy.py semeval_en --contrastive 8   # training mode 2: contrastive encoder tuning
                                                        # first (8 pairs per answer), then the heads
    python benchmarks/accuracy.py fewshot               # learning curve with 8/16/32 answers per theme
    python benchmarks/accuracy.py fewshot --self-train 0.1   # the same, plus the rest of the
                                                        # train split as unlabelled answers (self-training)
    python benchmarks/accuracy.py crosslingual --finetune-layers 12 --epochs 6 --encoder-lr 5e-5
                                                        # English labels + the Dutch train split as unlabelled
                                                        # answers (self-training), evaluated on Dutch
    python benchmarks/accuracy.py semeval_en --finetune-layers 12 --device cuda --seed 1
                                                        # on a GPU (CUDA torch), another random state
    python benchmarks/accuracy.py default --model runs/default/model-best
                                                        # a candidate default model (seed data only) on the
                                                        # seed test split and real en/nl/nb text
    python benchmarks/accuracy.py semeval_en --translate en-nl   # English labels plus their word-by-word Dutch
                                                        # translations (data.translate): cross-lingual nl
    python benchmarks/accuracy.py crosslingual --translate en-nl --rounds 2   # both: translations and the Dutch
                                                        # train split as unlabelled answers
    python benchmarks/accuracy.py seed_crosslingual     # English seed labels only, with and without the shipped
                                                        # dictionaries: scored on nl / nb / nn seed test answers
    python benchmarks/accuracy.py baseline              # the issue's reference: logistic regression on e5
                                                        # embeddings + character n-grams, on the same splits

Prints a table and writes benchmarks/results/accuracy[-ftN].json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SEMEVAL = DATA / "semeval2016_restaurants_nl_en"

from nps_nlp import FeedbackClassifier  # noqa: E402
from nps_nlp.datasets import load_examples, train_dev_split  # noqa: E402
from nps_nlp.encoders._device import resolve_device  # noqa: E402
from training.evaluate import evaluate_examples  # noqa: E402


def semeval(lang: str, label_map: str | None = None):
    """SemEval-2016 restaurants of ``lang`` (``en``/``nl``) as (train, dev); ``label_map`` maps the categories."""
    name = "ABSA16_Restaurants_Train_SB1_v2.xml" if lang == "en" else "restaurants_dutch_training.xml"
    return train_dev_split(load_examples(SEMEVAL / name, format="semeval2016", label_map=label_map))


CONTRASTIVE_PAIRS = 0  # set by --contrastive
EPOCHS: int | None = None  # set by --epochs (default: the classifier's own)
ENCODER_LR: float | None = None  # set by --encoder-lr (default: the classifier's own)
DEVICE = "cpu"  # set by --device
SEED = 0  # set by --seed
MODEL = ROOT / "models" / "default"  # set by --model: the model the default task checks
SHOTS: tuple[int, ...] = (8, 16, 32)  # set by --shots
SELF_TRAIN: float | None = None  # set by --self-train: few-shot fits also self-train on the rest of the train split
ROUNDS = 1  # set by --rounds: self-training rounds
FULL_F1: dict[str, float] = {}  # --reuse-full: all-data micro-F1 per language from a results file
TRANSLATE: list[str] = []  # set by --translate: dictionaries for word-by-word translations of the training answers
ENCODER: str | None = None  # set by --encoder: a sentence-transformers directory or hub id instead of the default encoder


def with_translations(train: list, names: list[str]) -> tuple[list, list[str] | None]:
    """The training answers plus their word-by-word translations by the dictionaries ``names`` (as data.translate
    does), and the groups that keep each answer with its translations (``None`` without dictionaries)."""
    if not names:
        return list(train), None
    from training.augment import load_dictionaries, translate_examples

    train = list(train) + translate_examples(train, load_dictionaries(names))
    return train, [e.group or e.id for e in train]


def fit(train, finetune_layers: int, unlabelled: list[str] | None = None) -> tuple[FeedbackClassifier, float]:
    """Train with this run's recipe; with ``unlabelled`` (and ``--self-train``) self-train on those answers too."""
    started = time.perf_counter()
    train, groups = with_translations(train, TRANSLATE)
    encoder = ENCODER
    if CONTRASTIVE_PAIRS:
        import tempfile

        from nps_nlp._settings import DEFAULT_ENCODER
        from training.contrastive import contrastive_finetune

        encoder = str(contrastive_finetune(
            [e.text for e in train], [e.themes for e in train], sentiments=[e.sentiment for e in train],
            encoder=ENCODER or DEFAULT_ENCODER, output_dir=Path(tempfile.mkdtemp(prefix="nps-contrastive-")),
            pairs_per_example=CONTRASTIVE_PAIRS, show_progress_bar=False, device=DEVICE))
    clf = FeedbackClassifier(encoder=encoder, finetune_layers=finetune_layers, epochs=EPOCHS,
                             encoder_learning_rate=ENCODER_LR, show_progress_bar=False, device=DEVICE,
                             random_state=SEED)
    if SELF_TRAIN is not None and unlabelled:
        from training.self_training import self_train

        clf, _ = self_train(clf, [e.text for e in train], [e.themes for e in train], unlabelled,
                            sentiment=[e.sentiment for e in train], groups=groups, margin=SELF_TRAIN, rounds=ROUNDS)
    else:
        clf.fit([e.text for e in train], [e.themes for e in train], sentiment=[e.sentiment for e in train],
                groups=groups)
    return clf, time.perf_counter() - started


def summary(metrics: dict) -> dict:
    out = {"micro_f1": metrics.get("micro_f1"), "macro_f1": metrics.get("macro_f1"), "n": metrics["n_examples"]}
    if "theme_polarity" in metrics:
        out["polarity_given_gold"] = metrics["theme_polarity"]["accuracy"]
        out["polarity_given_gold_answer_level"] = metrics["theme_polarity"]["answer_level_accuracy"]
    if "sentiment" in metrics:
        out["sentiment_accuracy"] = metrics["sentiment"]["accuracy"]
    return out


def task_semeval_en(ft: int) -> dict:
    """English only (train en, evaluate en and cross-lingual nl): the quick comparison of training modes."""
    en_tr, en_dev = semeval("en")
    _, nl_dev = semeval("nl")
    clf, secs = fit(en_tr, ft)
    return {"semeval_en (train en)": {**summary(evaluate_examples(clf, en_dev)), "train_s": round(secs)},
            "semeval_nl cross-lingual (train en)": summary(evaluate_examples(clf, nl_dev))}


def fewshot_sample(train: list, k: int, seed: int = 0) -> list:
    """At least ``k`` answers per theme (greedy, rarest theme first, like SetFit's sampling), plus ``k``
    answers without any theme so the model also sees what no theme looks like."""
    rng = np.random.default_rng(seed)
    order = [train[i] for i in rng.permutation(len(train))]
    counts: dict[str, int] = {}
    for e in order:
        for t in e.themes:
            counts[t] = counts.get(t, 0) + 1
    picked, have = [], dict.fromkeys(counts, 0)
    for theme in sorted(counts, key=counts.get):
        for e in order:
            if have[theme] >= k:
                break
            if theme in e.themes and e not in picked:
                picked.append(e)
                for t in e.themes:
                    have[t] += 1
    picked += [e for e in order if not e.themes][:k]
    return picked


def task_fewshot(ft: int, seeds: tuple[int, ...] = (0, 1, 2)) -> dict:
    """Learning curve on SemEval-2016 en and nl: 8, 16, 32 answers per theme against all training data.

    Each size is drawn with three seeds (few-shot figures swing by a few points with the sample): the table
    shows the mean, the JSON also each draw."""
    res = {}
    for lang in ("en", "nl"):
        train, dev = semeval(lang)
        if lang in FULL_F1:
            full_f1 = FULL_F1[lang]
        else:
            full, secs = fit(train, ft)
            full_f1 = evaluate_examples(full, dev)["micro_f1"]
            res[f"fewshot semeval_{lang} all ({len(train)} answers)"] = {"micro_f1": full_f1, "train_s": round(secs)}
        for k in SHOTS:
            f1s, sizes, times = [], [], []
            for seed in seeds:
                sample = fewshot_sample(train, k, seed=seed)
                picked = {id(e) for e in sample}
                # --self-train: the rest of the train split, labels hidden, is the analyst's unlabelled answers
                clf, secs = fit(sample, ft, unlabelled=[e.text for e in train if id(e) not in picked])
                f1s.append(evaluate_examples(clf, dev)["micro_f1"])
                sizes.append(len(sample))
                times.append(secs)
            f1 = float(np.mean(f1s))
            res[f"fewshot semeval_{lang} {k}/theme (about {round(np.mean(sizes))} answers, {len(seeds)} draws)"] = {
                "micro_f1": round(f1, 4), "share_of_full": round(f1 / full_f1, 3), "all_data_micro_f1": full_f1,
                "per_draw": [round(x, 4) for x in f1s],
                "train_s": round(float(np.mean(times)))}
        print(json.dumps(res, indent=1), flush=True)
    return res


def task_crosslingual(ft: int) -> dict:
    """English labels only, plus the Dutch train split with its labels hidden as the unlabelled answers an analyst
    has in the other language: self-training (margin ``--self-train``, default 0.1) carries the English labels over
    to Dutch. Evaluated on the Dutch dev split (never seen, labelled or not) and the English one."""
    from training.self_training import DEFAULT_MARGIN, self_train

    en_tr, en_dev = semeval("en")
    nl_tr, nl_dev = semeval("nl")
    started, scoring = time.perf_counter(), 0.0  # scoring: seconds spent scoring rounds, not training
    per_round = []

    def score(r: int, model: FeedbackClassifier, n: int) -> None:  # each round's model, scored on the dev splits
        nonlocal scoring
        begin = time.perf_counter()
        per_round.append({"round": r, "pseudo_labelled": n, "train_s": round(begin - started - scoring),
                          "nl_micro_f1": evaluate_examples(model, nl_dev)["micro_f1"],
                          "en_micro_f1": evaluate_examples(model, en_dev)["micro_f1"]})
        scoring += time.perf_counter() - begin
        print(json.dumps(per_round[-1]), flush=True)

    clf = FeedbackClassifier(encoder=ENCODER, finetune_layers=ft, epochs=EPOCHS, encoder_learning_rate=ENCODER_LR,
                             show_progress_bar=False, device=DEVICE, random_state=SEED)
    en_tr, groups = with_translations(en_tr, TRANSLATE)
    clf, info = self_train(clf, [e.text for e in en_tr], [e.themes for e in en_tr], [e.text for e in nl_tr],
                           sentiment=[e.sentiment for e in en_tr], groups=groups,
                           margin=DEFAULT_MARGIN if SELF_TRAIN is None else SELF_TRAIN, rounds=ROUNDS, on_round=score)
    secs = time.perf_counter() - started - scoring
    extra = {"pseudo_labelled": info["pseudo_labelled"], "unlabelled": info["unlabelled"], "rounds": ROUNDS,
             "per_round": per_round}
    return {"semeval_nl cross-lingual (train en, unlabelled nl)": {**summary(evaluate_examples(clf, nl_dev)), **extra,
                                                                   "train_s": round(secs)},
            "semeval_en (train en, unlabelled nl)": summary(evaluate_examples(clf, en_dev))}


def task_seed_crosslingual(ft: int) -> dict:
    """Labels in one language (data.translate): train on the English seed answers only, without and with their
    word-by-word translations by the shipped dictionaries (en-nl, en-nb, en-nn); score the seed test split per
    language. In-domain: the dictionaries hold the words of the English seed answers."""
    train = [e for e in load_examples(ROOT / "data" / "seed" / "train.jsonl") if e.lang == "en"]
    test = load_examples(ROOT / "data" / "seed" / "test.jsonl")
    res = {}
    for names in ([], ["en-nl", "en-nb", "en-nn"]):
        data, groups = with_translations(train, names)
        started = time.perf_counter()
        clf = FeedbackClassifier(encoder=ENCODER, finetune_layers=ft, epochs=EPOCHS, show_progress_bar=False, device=DEVICE,
                                 random_state=SEED)
        clf.fit([e.text for e in data], [e.themes for e in data], sentiment=[e.sentiment for e in data],
                groups=groups)
        secs = round(time.perf_counter() - started)
        for lang in ("en", "nl", "nb", "nn"):
            res[f"seed {lang} test, trained on en seed {'+ ' + ', '.join(names) if names else 'only'}"] = {
                **summary(evaluate_examples(clf, [e for e in test if e.lang == lang])), "train_s": secs}
    return res


def task_semeval(ft: int) -> dict:
    """English, Dutch, cross-lingual and both languages together."""
    return {**task_semeval_en(ft), **task_semeval_nl(ft), **task_semeval_joint(ft)}


def task_semeval_joint(ft: int) -> dict:
    """One model trained on the English and Dutch train splits together, evaluated on each dev split."""
    en_tr, en_dev = semeval("en")
    nl_tr, nl_dev = semeval("nl")
    clf, secs = fit(en_tr + nl_tr, ft)
    return {"semeval_en (train en+nl)": {**summary(evaluate_examples(clf, en_dev)), "train_s": round(secs)},
            "semeval_nl (train en+nl)": summary(evaluate_examples(clf, nl_dev))}


def task_semeval_nl(ft: int) -> dict:
    """Dutch only (train nl, evaluate nl)."""
    nl_tr, nl_dev = semeval("nl")
    clf, secs = fit(nl_tr, ft)
    return {"semeval_nl (train nl)": {**summary(evaluate_examples(clf, nl_dev)), "train_s": round(secs)}}


def task_norec(ft: int) -> dict:
    train, dev = train_dev_split(load_examples(DATA / "norec_sentence_nb", format="norec"))
    clf, secs = fit(train, ft)
    return {"norec 3-class": {**summary(evaluate_examples(clf, dev)), "train_s": round(secs)}}


def task_mams(ft: int) -> dict:
    train, dev = train_dev_split(load_examples(DATA / "mams_acsa_en", format="mams"))
    clf, secs = fit(train, ft)
    return {"mams": {**summary(evaluate_examples(clf, dev)), "train_s": round(secs)}}


def task_baseline(ft: int) -> dict:
    """The issue's reference: plain logistic regression on e5-small embeddings plus character n-grams.

    C (and for themes the one probability threshold) are picked by 5-fold cross-validation on the train split,
    never on the dev split, so the figures compare fairly with the classifier's."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.multiclass import OneVsRestClassifier

    from nps_nlp.encoders import load_encoder

    encoder = load_encoder(ENCODER, backend="torch")

    def features(train_texts: list[str], *others: list[str]) -> list:
        ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True).fit(train_texts)
        return [sp.hstack([sp.csr_matrix(encoder.encode(t, batch_size=64)), ngrams.transform(t)]).tocsr()
                for t in (train_texts, *others)]

    res: dict[str, dict] = {}
    grid_c, grid_t = (1.0, 4.0, 16.0, 64.0), np.round(np.arange(0.1, 0.71, 0.05), 2)
    for train_lang, dev_langs in (("en", ("en", "nl")), ("nl", ("nl",))):
        train, _ = semeval(train_lang)
        devs = {lang: semeval(lang)[1] for lang in dev_langs}
        labels = sorted({t for e in train for t in e.themes})
        y = np.array([[label in e.themes for label in labels] for e in train], dtype=int)
        x, *x_dev = features([e.text for e in train], *([e.text for e in d] for d in devs.values()))
        cv_f1 = {}
        for c in grid_c:
            oof = cross_val_predict(OneVsRestClassifier(LogisticRegression(C=c, max_iter=3000)), x, y, cv=5,
                                    method="predict_proba")
            for t in grid_t:
                cv_f1[(c, t)] = f1_score(y, oof >= t, average="micro", zero_division=0)
        c, t = max(cv_f1, key=cv_f1.get)
        model = OneVsRestClassifier(LogisticRegression(C=c, max_iter=3000)).fit(x, y)
        for (lang, dev), xd in zip(devs.items(), x_dev, strict=True):
            gold = np.array([[label in e.themes for label in labels] for e in dev])
            name = f"baseline semeval_{lang} (train {train_lang})"
            f1 = f1_score(gold, model.predict_proba(xd) >= t, average="micro", zero_division=0)
            res[name] = {"micro_f1": round(float(f1), 4), "C": c, "threshold": float(t)}
    train, dev = train_dev_split(load_examples(DATA / "norec_sentence_nb", format="norec"))
    x, x_dev = features([e.text for e in train], [e.text for e in dev])
    y = [e.sentiment for e in train]
    cv_macro = {c: f1_score(y, cross_val_predict(LogisticRegression(C=c, max_iter=3000), x, y, cv=5), average="macro")
                for c in grid_c}
    c = max(cv_macro, key=cv_macro.get)
    pred = LogisticRegression(C=c, max_iter=3000).fit(x, y).predict(x_dev)
    res["baseline norec 3-class"] = {"macro_f1": round(float(f1_score([e.sentiment for e in dev], pred, average="macro")), 4),
                                     "C": c}
    return res


def task_default_model(ft: int) -> dict:
    """The shipped default model (seed data only, never trained on these sets): sentiment against NPS bands,
    airline sentiment (en), and the same checks on real Dutch and Norwegian text: SemEval-2016 nl dev with its
    categories mapped to the generic themes (per-theme polarity given the gold themes, themes) and NoReC dev
    sentence sentiment (nb)."""
    clf = FeedbackClassifier.load(MODEL)
    seed = evaluate_examples(clf, load_examples(ROOT / "data" / "seed" / "test.jsonl"))
    airline = evaluate_examples(clf, load_examples(DATA / "twitter_airline_en" / "Tweets.dev.csv", format="airline",
                                                   label_map="airline_to_generic"))
    _, nl_dev = semeval("nl", label_map="semeval2016_to_generic")
    _, norec_dev = train_dev_split(load_examples(DATA / "norec_sentence_nb", format="norec"))
    semeval_nl, norec = evaluate_examples(clf, nl_dev), evaluate_examples(clf, norec_dev)
    # NoReC's neutral sentences are mostly plain description (plot, specs), which NPS answers rarely are: also
    # score the sign of the sentiment score on the polar sentences alone
    polar = [e for e in norec_dev if e.sentiment in ("negative", "positive")]
    signs = [r.sentiment_score >= 0 for r in clf.predict([e.text for e in polar])]
    polar_acc = float(np.mean([s == (e.sentiment == "positive") for s, e in zip(signs, polar, strict=True)]))
    return {
        "default model on seed test": {**summary(seed), "nps_bands": seed["nps_bands"]},
        "default model on airline dev": {**summary(airline), "sentiment_per_class": {
            k: v["f1"] for k, v in airline["sentiment"]["per_label"].items()},
            "sentiment_confusion (gold -> predicted)": airline["sentiment"]["confusion"]},
        "default model on semeval_nl dev (generic themes)": summary(semeval_nl),
        "default model on norec dev (sentence sentiment)": {**summary(norec), "sentiment_per_class": {
            k: v["f1"] for k, v in norec["sentiment"]["per_label"].items()},
            "polar_sentences_sign_accuracy": round(polar_acc, 4), "polar_sentences": len(polar)},
    }


TASKS = {"semeval_en": task_semeval_en, "semeval_nl": task_semeval_nl, "semeval_joint": task_semeval_joint,
         "fewshot": task_fewshot, "semeval": task_semeval, "norec": task_norec, "mams": task_mams,
         "default": task_default_model, "baseline": task_baseline, "crosslingual": task_crosslingual,
         "seed_crosslingual": task_seed_crosslingual}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="*", help=f"any of {', '.join(TASKS)} (default: all)")
    parser.add_argument("--finetune-layers", type=int, default=0)
    parser.add_argument("--contrastive", type=int, default=0, metavar="PAIRS",
                        help="training mode 2: contrastive encoder tuning with PAIRS pairs per answer first")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the classifier's own choice)")
    parser.add_argument("--encoder-lr", type=float, help="learning rate of the tuned encoder layers")
    parser.add_argument("--seed", type=int, default=0, help="random state of the classifier (for seed spread)")
    parser.add_argument("--model", type=Path, help="default task: check this model directory instead of models/default "
                                                   "(a candidate default model; the results file gets its name)")
    parser.add_argument("--device", default="cpu",
                        help="train on cpu (default), cuda or auto; the figures say where (train_s differs, the recipe not)")
    parser.add_argument("--shots", type=lambda s: tuple(int(x) for x in s.split(",")), default=(8, 16, 32),
                        help="fewshot: answers per theme (default 8,16,32)")
    parser.add_argument("--self-train", type=float, metavar="MARGIN",
                        help="fewshot: also self-train on the rest of the train split, labels hidden (pseudo-labels "
                             "sure by MARGIN, e.g. 0.1)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="self-training rounds (each pseudo-labels with the latest model and trains a fresh one)")
    parser.add_argument("--reuse-full", nargs="?", const="", metavar="RESULTS",
                        help="fewshot: take the all-data micro-F1 from a results file (semeval_en/nl tasks; default this "
                             "recipe's, e.g. benchmarks/results/accuracy.json for the frozen recipe) instead of training "
                             "on all data again")
    parser.add_argument("--translate", type=lambda s: s.split(","), default=[], metavar="DICTIONARIES",
                        help="also train on word-by-word translations of the training answers (data.translate), "
                             "e.g. en-nl or en-nl,en-nb")
    parser.add_argument("--encoder", metavar="DIR_OR_HUB_ID",
                        help="train on this sentence-transformers directory or hub id (online) instead of the default "
                             "encoder, e.g. intfloat/multilingual-e5-small; the results file gets its name")
    return parser


def _results_file(args: argparse.Namespace) -> Path:
    """benchmarks/results/accuracy<suffix>.json, the suffix naming every option that changes the recipe."""
    suffix = f"-ft{args.finetune_layers}" if args.finetune_layers else ""
    suffix += f"-contrastive{args.contrastive}" if args.contrastive else ""
    suffix += f"-epochs{args.epochs}" if args.epochs else ""
    suffix += f"-elr{args.encoder_lr:g}" if args.encoder_lr else ""
    suffix += f"-selftrain{args.self_train:g}" if args.self_train is not None else ""
    suffix += f"-rounds{args.rounds}" if args.rounds != 1 else ""
    suffix += f"-seed{args.seed}" if args.seed else ""
    # a shipped dictionary by its name (en-nl), an own file by its folder too (my-words-en-nl)
    suffix += "".join("-translate-" + ("-".join(Path(name).parts[-2:])[: -len(".tsv")] if name.endswith(".tsv")
                                       else name) for name in args.translate)
    suffix += f"-encoder-{Path(args.encoder).name}" if args.encoder is not None else ""  # a hub id: its model name
    suffix += "-cuda" if resolve_device(args.device).type == "cuda" else ""
    if args.model is not None:  # e.g. runs/default-ft4/model-best -> -model-default-ft4-model-best
        suffix += "-model-" + re.sub(r"[^A-Za-z0-9.]+", "-", "/".join(MODEL.parts[-2:])).strip("-")
    return ROOT / "benchmarks" / "results" / f"accuracy{suffix}.json"


def main() -> None:
    args = _parser().parse_args()
    global CONTRASTIVE_PAIRS, EPOCHS, ENCODER_LR, SHOTS, SELF_TRAIN, ROUNDS, DEVICE, SEED, MODEL, TRANSLATE, ENCODER
    DEVICE, SEED = args.device, args.seed
    if args.encoder is not None:  # a directory, or else a hub id (fetched by sentence-transformers when online)
        local = Path(args.encoder)
        if local.exists() and not (local / "modules.json").is_file():
            sys.exit(f"--encoder: {local} is not a sentence-transformers directory (no modules.json)")
        ENCODER = str(local.resolve()) if local.exists() else args.encoder
    if args.model is not None:
        if not (args.model / "config.json").is_file():
            sys.exit(f"--model: {args.model} is not a saved nps-nlp model (no config.json)")
        MODEL = args.model.resolve()
    CONTRASTIVE_PAIRS, EPOCHS, ENCODER_LR, SHOTS = args.contrastive, args.epochs, args.encoder_lr, args.shots
    SELF_TRAIN, ROUNDS, TRANSLATE = args.self_train, args.rounds, args.translate
    if not DATA.exists():
        sys.exit(f"{DATA} not found: the external data must sit at ../shared/data")
    results = {}
    unknown = set(args.tasks) - set(TASKS)
    if unknown:
        sys.exit(f"unknown task(s) {', '.join(sorted(unknown))}; choose from {', '.join(TASKS)}")
    out = _results_file(args)
    previous = json.loads(out.read_text()) if out.exists() else {}
    if args.reuse_full is not None:
        source = Path(args.reuse_full) if args.reuse_full else out
        full = json.loads(source.read_text()) if source.exists() else {}
        for lang in ("en", "nl"):
            key = f"semeval_{lang} (train {lang})"
            if key not in full:
                sys.exit(f"--reuse-full: {source} has no {key!r}; run the semeval_{lang} task with those options first")
            FULL_F1[lang] = full[key]["micro_f1"]
    for name in args.tasks or TASKS:
        results.update(TASKS[name](args.finetune_layers))
        print(json.dumps(results, indent=1), flush=True)
    previous.update(results)
    out.write_text(json.dumps(previous, indent=2))
    print(f"\n{'task':45s} {'micro-F1':>9s} {'macro-F1':>9s} {'polarity':>9s} {'sent.acc':>9s}")
    for task, r in results.items():
        print(f"{task:45s} {r.get('micro_f1') or '-':>9} {r.get('macro_f1') or '-':>9} "
              f"{r.get('polarity_given_gold', '-'):>9} {r.get('sentiment_accuracy', '-'):>9}")
    print(f"written to {out}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
