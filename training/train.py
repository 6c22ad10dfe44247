"""``train``: the plain function behind ``nps-nlp train``.

A run writes one directory::

    OUTPUT/
        model-best/      the model to use (loadable: FeedbackClassifier.load, nps-nlp classify --model OUTPUT)
        model-last/      the model as training left it
        config.toml      the resolved config: rerun with ``nps-nlp train OUTPUT/config.toml``
        metrics.json     dev-set metrics (when there is dev data), data fingerprints, timings
        validation.json  what validation dropped (``drop_invalid``) and its notices
        training.log     what happened, step by step

*Best* and *last* for this classifier: ``FeedbackClassifier.fit`` already early-stops on its own held-out
validation share (``train.validation_fraction``; below 1,000 answers ``train.cv`` = 5 folds instead): it
picks the epoch with the best validation score, tunes the thresholds on the held-out predictions and (frozen
encoder, or ``train.refit = true``) refits on all training answers for that many epochs. So the state training ends in *is*
its best checkpoint, and ``model-best`` is the same model as ``model-last`` (hard-linked, no extra disk). The
two names keep the layout of other tools (spaCy) so that scripts and the registry can always point at
``model-best``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nps_nlp import FeedbackClassifier
from nps_nlp.datasets import Example, train_dev_split
from nps_nlp.encoders._device import resolve_device
from training.augment import coverage, load_dictionaries, translate_examples
from training.config import TrainingArguments
from training.evaluate import evaluate_examples
from training.model_card import render_model_card
from training.validate import ValidationReport, validate_data, write_report

log = logging.getLogger("training")
FEW_LABELS = 1000  # below this many answers with themes, training.log suggests contrastive mode


def fingerprint(path: str | Path) -> str:
    """sha256 of a data file (or of every file below a directory), first 16 hex digits."""
    digest = hashlib.sha256()
    path = Path(path)
    for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if item.is_file():
            digest.update(item.name.encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()[:16]


def load_training_data(args: TrainingArguments) -> tuple[list[Example], list[Example], dict[str, ValidationReport]]:
    """Read and validate the training (and dev) data: no compute is spent before this passes.

    Returns:
        ``(train, dev, reports)`` with one :class:`ValidationReport` per file (``"train"``, ``"dev"``).

    Raises:
        TrainingDataError: the data has problems (each with its row and a fix).
    """
    common: dict[str, Any] = {"format": args.format, "columns": args.columns or None, "label_delimiter": args.label_delimiter,
              "label_map": args.label_map, "languages": args.languages, "drop_invalid": args.drop_invalid}
    report = validate_data(args.data, taxonomy=args.taxonomy, min_examples_per_label=args.min_examples_per_label,
                           **common)
    reports = {"train": report}
    examples = report.examples
    if args.dev_data:
        labels = sorted({label for e in examples for label in e.themes or {}})
        known = None if args.taxonomy or not report.notices else labels
        dev_report = validate_data(args.dev_data, taxonomy=args.taxonomy, min_examples_per_label=0, role="dev",
                                   known_labels=known, **common)
        reports["dev"] = dev_report
        return examples, dev_report.examples, reports
    if args.dev_fraction > 0:
        train_set, dev_set = train_dev_split(examples, args.dev_fraction, seed=args.seed)
        return train_set, dev_set, reports
    return examples, [], reports


def load_unlabelled(args: TrainingArguments, exclude: Iterable[str] = ()) -> tuple[list[str], list[int | None]]:
    """The texts of ``data.unlabelled_path`` (read like the training data; labels, if any, are ignored), in the
    configured languages, without empty answers, duplicates and answers in ``exclude`` (the labelled ones), and
    their NPS scores where the file has them (weak sentiment labels for self-training).

    Raises:
        DataFormatError: the file cannot be read.
        DataValidationError: no usable answer is left.
    """
    from nps_nlp.datasets import load_examples
    from nps_nlp.errors import DataValidationError
    from training.self_training import unlabelled_pool

    assert args.unlabelled_data is not None
    columns = {k: v for k, v in (args.columns or {}).items() if k in ("text", "score")}
    examples = load_examples(args.unlabelled_data, format=args.format, columns=columns or None)
    kept = [e for e in examples if not args.languages or e.lang is None or e.lang in args.languages]
    texts = unlabelled_pool([e.text for e in kept], list(exclude))
    if not texts:
        raise DataValidationError(
            f"data.unlabelled_path {args.unlabelled_data}: {len(examples)} rows read and none is usable (all empty, "
            "outside data.languages or also in the labelled data); point it at answers that are not labelled yet")
    score_of = {e.text: e.score for e in kept}
    return texts, [score_of.get(t) for t in texts]


def train(args: TrainingArguments, *, show_progress_bar: bool = True) -> dict[str, Any]:
    """Validate the data, train a model and write the run directory ``args.output`` (see the module doc).

    Everything is written to a temporary sibling directory first and moved into place at the end, so a
    failed run never leaves a half-written model, and a previous run in ``args.output`` survives a failure.

    Args:
        args: the training arguments.
        show_progress_bar: progress bars for encoding and training epochs.

    Returns:
        ``{"output", "model_best", "model_last", "metrics", "validation", "seconds", "registered", "hints"}``
        (hints: advice on the recipe, also in ``training.log``).

    Raises:
        TrainingDataError: the data failed validation (raised before any compute).
        ConfigError, TaxonomyError, EncoderError: bad settings.
    """
    started = time.perf_counter()
    output = Path(args.output)
    device = resolve_device(args.device)  # a GPU asked for where torch sees none fails now, not after reading the data
    train_set, dev_set, reports = load_training_data(args)
    dictionaries = load_dictionaries(args.translate)
    translated = translate_examples(train_set, dictionaries)
    # read before any compute too: a broken unlabelled file fails here, not after the contrastive step
    unlabelled = load_unlabelled(args, exclude=[e.text for e in train_set]) if args.unlabelled_data else None
    tmp = output.with_name(f".{output.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    handler = logging.FileHandler(tmp / "training.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        result = _run(args, train_set, dev_set, reports, tmp, show_progress_bar, started, unlabelled, device,
                      translated, dictionaries)
        log.info("done in %.1f s", time.perf_counter() - started)
    except BaseException:
        log.removeHandler(handler)
        handler.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.removeHandler(handler)
    handler.close()
    _replace(tmp, output)
    result.update(output=str(output), model_best=str(output / "model-best"), model_last=str(output / "model-last"),
                  seconds=round(time.perf_counter() - started, 1))
    if args.register:
        from nps_nlp._settings import get_settings
        from nps_nlp.registry import ModelRegistry

        registry = ModelRegistry(args.registry or get_settings().registry_dir)
        entry = registry.register(output / "model-best", model_id=args.model_id)
        result["registered"] = {"id": entry.id, "registry": str(registry.root), "path": str(entry.path)}
    return result


def _describe_device(device: Any) -> str:
    """``cpu (2 threads)`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``: where the run trained, for training.log."""
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def _run(args: TrainingArguments, train_set: list[Example], dev_set: list[Example],
         reports: dict[str, ValidationReport], tmp: Path, show_progress_bar: bool, started: float,
         unlabelled: tuple[list[str], list[int | None]] | None, device: Any, translated: list[Example],
         dictionaries: dict[tuple[str, str], dict[str, str]]) -> dict[str, Any]:
    log.info("nps-nlp training run: mode %s, %s, output %s", args.mode, _describe_device(device), args.output)
    hints = _log_data(args, reports, train_set, dev_set)
    if translated:
        _log_translations(args, train_set, translated, dictionaries)
        train_set = train_set + translated
    (tmp / "config.toml").write_text(f"# resolved config of this run; rerun with: nps-nlp train {args.output}/config.toml\n"
                                     + args.to_toml(), encoding="utf-8")
    write_report(reports["train"], tmp / "validation.json")
    if "dev" in reports:
        write_report(reports["dev"], tmp / "validation-dev.json")

    texts = [e.text for e in train_set]
    encoder = args.encoder
    contrastive_dir = tmp / "_contrastive-encoder"
    if args.mode == "contrastive":
        encoder = _contrastive_encoder(args, train_set, contrastive_dir, show_progress_bar)
    clf = _new_classifier(args, encoder, show_progress_bar)
    step = time.perf_counter()
    # an answer and its translations stay on one side of the classifier's validation splits
    groups = [e.group or e.id for e in train_set] if translated else None
    if unlabelled:
        clf, self_training = _self_train(clf, args, texts, train_set, unlabelled, groups)
    else:
        self_training = None
        clf.fit(texts, [e.themes for e in train_set], sentiment=[e.sentiment for e in train_set], groups=groups)
    train_seconds = time.perf_counter() - started
    log.info("fit: %.1f s, %d head(s), best epoch %s, internal validation scores %s", time.perf_counter() - step,
             len(getattr(clf.head_, "heads", [clf.head_])), clf.best_epoch_, json.dumps(clf.validation_scores_))
    if clf.zero_shot_labels_:
        hints.append(f"the model also matches {len(clf.zero_shot_labels_)} theme(s) without training examples zero-shot, "
                     f"by their descriptions: {', '.join(clf.zero_shot_labels_)}")
        log.warning("hint: %s", hints[-1])
    calibration = _fit_score_fusion(clf, args, train_set, hints)
    urgency = _fit_urgency(clf, train_set)
    metrics = evaluate_examples(clf, dev_set) if dev_set else None
    if metrics:
        log.info("dev metrics: micro-F1 %s, macro-F1 %s (%d answers)", metrics.get("micro_f1"), metrics.get("macro_f1"),
                 metrics["n_examples"])
    fingerprints = {"train": fingerprint(args.data), **({"dev": fingerprint(args.dev_data)} if args.dev_data else {}),
                    **({"calibration": fingerprint(args.calibration_data)} if args.calibration_data else {}),
                    **({"unlabelled": fingerprint(args.unlabelled_data)} if args.unlabelled_data else {})}
    meta = {"training_arguments": args.to_dict(), "data_fingerprint": fingerprints["train"],
            "data_fingerprints": fingerprints, "train_seconds": round(train_seconds, 1),
            "name": Path(args.output).name, "n_train": len(train_set), "n_dev": len(dev_set),
            "dropped_rows": sum(len(r.dropped) for r in reports.values()),
            **({"n_translated": len(translated)} if translated else {}),
            **({"score_fusion": calibration} if calibration else {}),
            **({"urgency_model": urgency} if urgency else {}),
            **({"self_training": self_training} if self_training else {})}
    _save_models(clf, tmp, meta, metrics, contrastive_dir)
    summary = {"metrics": metrics, "data_fingerprints": fingerprints, "train_seconds": round(train_seconds, 1),
               "best_epoch": clf.best_epoch_, "internal_validation_scores": clf.validation_scores_,
               "model_best": "model-last (the classifier early-stops on its validation share; see training/train.py)",
               "n_train": len(train_set), "n_translated": len(translated), "n_dev": len(dev_set),
               "self_training": self_training,
               "validation": {role: r.to_dict() for role, r in reports.items()}}
    (tmp / "metrics.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return {"metrics": metrics, "validation": summary["validation"], "registered": None, "hints": hints}


def _log_data(args: TrainingArguments, reports: dict[str, ValidationReport], train_set: list[Example],
              dev_set: list[Example]) -> list[str]:
    """Write what validation read and dropped and what training will use to training.log; returns the hints."""
    for role, report in reports.items():
        log.info("%s data %s: %d rows read, %d used, %d problem(s) dropped", role, report.path, report.n_rows,
                 len(report.examples), len(report.dropped))
        for problem in report.dropped:
            log.info("  dropped: %s", problem)
        for notice in report.notices:
            log.info("  notice: %s", notice)
    themes = Counter(label for e in train_set for label in e.themes or {})
    log.info("training on %d answers (%s), evaluating on %d; themes: %s", len(train_set),
             ", ".join(f"{k} {v}" for k, v in sorted(Counter(e.lang or "?" for e in train_set).items())), len(dev_set),
             ", ".join(f"{k} {v}" for k, v in themes.most_common()) or "none")
    hints = []
    if args.mode == "frozen" and themes and sum(1 for e in train_set if e.themes) < FEW_LABELS:
        hints.append(f'under {FEW_LABELS} answers with themes, model.mode = "contrastive" usually pays for its minutes '
                     '(docs/analyst-training.md, "Few labels")')
    for hint in hints:
        log.info("hint: %s", hint)
    return hints


def _log_translations(args: TrainingArguments, train_set: list[Example], translated: list[Example],
                      dictionaries: dict[tuple[str, str], dict[str, str]]) -> None:
    """Write the word-by-word translations and each dictionary's coverage of the training answers to training.log."""
    log.info("translated word by word (%s): %d answers (%s), trained on with the same labels", ", ".join(args.translate),
             len(translated), ", ".join(f"{k} {v}" for k, v in sorted(Counter(e.lang or "?" for e in translated).items())))
    for (source, target), words in dictionaries.items():
        share, missing = coverage((e.text for e in train_set if e.lang == source), words)
        log.info("  %s-%s: the dictionary knows %.0f%% of the words of the %s answers; commonest unknown (add them to "
                 "an own %s-%s.tsv): %s", source, target, 100 * share, source, source, target, ", ".join(missing))


def _contrastive_encoder(args: TrainingArguments, train_set: list[Example], output_dir: Path,
                         show_progress_bar: bool) -> str:
    """Tune the encoder contrastively on the training answers (``model.mode = "contrastive"``); returns its path."""
    from nps_nlp._settings import DEFAULT_ENCODER
    from training.contrastive import contrastive_finetune

    step = time.perf_counter()
    labels: list[Any] = [e.themes or {} for e in train_set]
    encoder = str(contrastive_finetune(
        [e.text for e in train_set], labels, encoder=args.encoder or DEFAULT_ENCODER,
        output_dir=output_dir, epochs=args.contrastive_epochs,
        pairs_per_example=args.contrastive_pairs_per_example, seed=args.seed, device=args.device,
        show_progress_bar=show_progress_bar, sentiments=[e.sentiment for e in train_set]))
    log.info("contrastive encoder tuning: %.1f s", time.perf_counter() - step)
    return encoder


def _new_classifier(args: TrainingArguments, encoder: str | None, show_progress_bar: bool) -> FeedbackClassifier:
    """The unfitted classifier the training arguments describe."""
    taxonomy: Any = args.taxonomy
    if args.zero_shot_default_themes:
        from nps_nlp.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
    return FeedbackClassifier(
        encoder=encoder, taxonomy=taxonomy, finetune_layers=args.finetune_layers, epochs=args.epochs,
        learning_rate=args.learning_rate, encoder_learning_rate=args.encoder_learning_rate,
        batch_size=args.batch_size, max_length=args.max_length,
        validation_fraction=args.validation_fraction, cv=args.cv, refit=args.refit, ensemble=args.ensemble,
        random_state=args.seed,
        show_progress_bar=show_progress_bar, device=args.device,
    )


def _self_train(clf: FeedbackClassifier, args: TrainingArguments, texts: list[str], train_set: list[Example],
                unlabelled: tuple[list[str], list[int | None]], groups: list[str] | None
                ) -> tuple[FeedbackClassifier, dict[str, Any]]:
    """Fit with self-training on the unlabelled answers (``data.unlabelled_path``); logs each round."""
    from training.self_training import self_train

    history, history_scores = unlabelled
    log.info("self-training: %d unlabelled answers from %s (%d with an NPS score, used as weak sentiment labels)",
             len(history), args.unlabelled_data, sum(s is not None for s in history_scores))
    clf, self_training = self_train(clf, texts, [e.themes for e in train_set], history,
                                    scores=history_scores if any(s is not None for s in history_scores) else None,
                                    sentiment=[e.sentiment for e in train_set], groups=groups,
                                    margin=args.self_training_margin,
                                    rounds=args.self_training_rounds,
                                    on_round=lambda r, _, n: log.info("self-training round %d of %d: trained with %d "
                                                                      "pseudo-labelled answers", r,
                                                                      args.self_training_rounds, n))
    log.info("self-training: %d of %d unlabelled answers pseudo-labelled (margin %s): %s; weak sentiment labels "
             "from scores: %s", self_training["pseudo_labelled"], self_training["unlabelled"],
             args.self_training_margin, json.dumps(self_training["pseudo_themes"]),
             json.dumps(self_training.get("weak_sentiment", {})))
    return clf, self_training


def _save_models(clf: FeedbackClassifier, tmp: Path, meta: dict[str, Any], metrics: dict[str, Any] | None,
                 contrastive_dir: Path) -> None:
    """Save ``model-last`` (with its metrics and model card) and ``model-best`` (hard links to the same files)."""
    last = clf.save(tmp / "model-last", metadata=meta)
    shutil.rmtree(contrastive_dir, ignore_errors=True)  # save() keeps the tuned weights inside the model
    if metrics is not None:
        (last / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    config = json.loads((last / "config.json").read_text(encoding="utf-8"))
    (last / "README.md").write_text(render_model_card(config, metrics), encoding="utf-8")
    shutil.copytree(last, tmp / "model-best", copy_function=_link_or_copy)


def _fit_score_fusion(clf: FeedbackClassifier, args: TrainingArguments, train_set: list[Example], hints: list[str]
                      ) -> dict[str, Any] | None:
    """Fit the model's score fusion on ``data.calibration_path`` (answers with a score and a sentiment label);
    without it, a hint when the training answers carry scores. Returns what training.log and config.json report."""
    from nps_nlp.errors import DataValidationError

    if not args.calibration_data:
        if sum(e.score is not None and e.sentiment is not None for e in train_set) >= 200:
            hints.append("the training answers have NPS scores: set data.calibration_path to held-out answers with scores "
                         "and sentiment so the model reads the score with the text (docs/analyst-training.md)")
            log.info("hint: %s", hints[-1])
        return None
    report = validate_data(args.calibration_data, format=args.format, columns=args.columns or None,
                           label_delimiter=args.label_delimiter, label_map=args.label_map, languages=args.languages,
                           taxonomy=args.taxonomy, min_examples_per_label=0, role="calibration",
                           known_labels=list(clf.labels_), drop_invalid=args.drop_invalid)
    usable = [e for e in report.examples if e.score is not None and e.sentiment is not None]
    if not usable:
        raise DataValidationError(f"data.calibration_path {args.calibration_data}: no answer has both a score and a "
                                  "sentiment label; the score fusion is fitted on such answers")
    clf.fit_score_fusion([e.text for e in usable], [float(e.score or 0) for e in usable],
                         [str(e.sentiment) for e in usable],
                         [{k: v for k, v in (e.themes or {}).items() if v is not None} for e in usable],
                         lang=[e.lang for e in usable])
    fusion = clf.score_fusion_
    log.info("score fusion fitted on %d calibration answers (%d theme mentions) from %s", fusion.n_answers_,
             fusion.n_mentions_, args.calibration_data)
    return {"path": args.calibration_data, "n_answers": fusion.n_answers_, "n_mentions": fusion.n_mentions_}


def _fit_urgency(clf: FeedbackClassifier, train_set: list[Example], precision: float | None = None
                 ) -> dict[str, Any] | None:
    """Fit the model's learned urgency reading when the training answers carry urgency labels: an ``urgency``
    column (none, low, medium, high, critical) or, for answers without one, ``urgent = false`` as ``none``.
    ``precision``: the precision its own alerts must reach (:class:`~nps_nlp.urgency_model.UrgencyModel`'s default
    when ``None``)."""
    from nps_nlp.errors import DataValidationError

    texts, levels, scores = [], [], []
    for e in train_set:
        level = e.meta.get("urgency") or ("none" if e.meta.get("urgent") in (False, "false", 0) else None)
        if level:
            texts.append(e.text)
            levels.append(str(level))
            scores.append(e.score)
    if sum(level in ("high", "critical") for level in levels) < 20:
        return None
    try:
        clf.fit_urgency(texts, levels, scores if any(s is not None for s in scores) else None,
                        **({} if precision is None else {"precision": precision}))
    except DataValidationError as exc:
        log.info("no urgency model: %s", exc)
        return None
    model = clf.urgency_model_
    log.info("urgency model fitted on %s; thresholds: critical %.2f, alert %.2f", json.dumps(model.n_examples_),
             model.critical_threshold_, model.alert_threshold_)
    fusion = model.fusion_
    if fusion is not None:
        log.info("urgency fusion of cues, learned reading and score; thresholds: critical %.2f, alert %.2f",
                 fusion.critical_threshold_, fusion.alert_threshold_)
    return {"n_examples": model.n_examples_, "precision": model.precision,
            "critical_threshold": model.critical_threshold_, "alert_threshold": model.alert_threshold_,
            **({"fusion": {"precision": fusion.precision, "critical_threshold": fusion.critical_threshold_,
                           "alert_threshold": fusion.alert_threshold_}} if fusion is not None else {})}


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _replace(tmp: Path, output: Path) -> None:
    """Move ``tmp`` to ``output``; an existing ``output`` is kept aside until the move has succeeded."""
    old = output.with_name(f".{output.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if output.exists():
        output.rename(old)
    try:
        tmp.rename(output)
    except OSError:
        if old.exists():
            old.rename(output)
        raise
    shutil.rmtree(old, ignore_errors=True)
