"""One training run of the label-attention head (and the encoder's tuned top layers), keeping its best epoch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_nlp._classifier.layers import TunedLayers
from nps_nlp._classifier.outputs import run_head
from nps_nlp._classifier.splits import auto_epochs

__all__ = ["HeadTrainer", "validation_scores"]


def validation_scores(out: Any, targets: dict[str, np.ndarray], idx: np.ndarray, has_labels: bool) -> dict[str, float]:
    """Scores of head outputs for the answers ``idx``: theme micro-F1 at 0.5, per-theme polarity accuracy and
    overall sentiment accuracy (each where there are labels), and ``combined``, their mean."""
    scores: dict[str, float] = {}
    has = targets["has_themes"][idx]
    parts = []
    if has_labels and has.any():
        gold = targets["detect"][idx][has] > 0.5
        pred = out.detect[has] > 0.5
        tp = (gold & pred).sum()
        scores["theme_micro_f1"] = float(2 * tp / max(1, gold.sum() + pred.sum()))
        parts.append(scores["theme_micro_f1"])
    pol = targets["polarity"][idx]
    if (pol >= 0).any():
        scores["theme_polarity_accuracy"] = float((out.polarity.argmax(-1)[pol >= 0] == pol[pol >= 0]).mean())
        parts.append(scores["theme_polarity_accuracy"])
    sent = targets["sentiment"][idx]
    if (sent >= 0).any():
        scores["sentiment_accuracy"] = float((out.sentiment.argmax(-1)[sent >= 0] == sent[sent >= 0]).mean())
        parts.append(scores["sentiment_accuracy"])
    scores["combined"] = float(np.mean(parts)) if parts else 0.0
    return scores


@dataclass
class HeadTrainer:
    """Trains heads for one fit: the classifier's settings, and the encoder layers it may tune.

    Attributes:
        n_labels: the trained themes; dim: the size of a token state.
        layers: the encoder's tuned top layers (none with a frozen encoder).
        learning_rate: the head's; encoder_learning_rate: the tuned layers' (default: ``learning_rate / 5``).
        batch_size: answers per step; random_state: the default seed.
        show_progress_bar: a progress bar per run.
    """

    n_labels: int
    dim: int
    layers: TunedLayers
    learning_rate: float
    encoder_learning_rate: float | None
    batch_size: int
    random_state: int
    show_progress_bar: bool = False

    def outputs(self, head: Any, cache: list, idx: np.ndarray, top: bool = True) -> Any:
        """The head's outputs for the cached states of answers ``idx``; ``top``: the cache holds frozen-part
        states, so the tuned layers run first."""
        return run_head(head, [cache[i] for i in idx], self.n_labels, self.batch_size, self.dim,
                        top=self.layers.run if top else None)

    def train(self, targets: dict[str, np.ndarray], train_idx: np.ndarray, val_idx: np.ndarray, epochs: int,
              cache: list, *, tune: bool = True, seed: int | None = None) -> dict[str, Any]:
        """Train a new head (and, with ``tune``, the tuned layers) on the cached states; keep the best epoch.

        With tuned layers the head is first trained alone on the frozen encoder's final states (a linear probe,
        for the frozen schedule's epochs: :func:`~nps_nlp._classifier.splits.auto_epochs`), then head and layers
        together for ``epochs`` (LP-FT); the probe's result competes with the tuned epochs as epoch 0.

        Args:
            targets: from :func:`nps_nlp._classifier.labels.targets`.
            train_idx: answers trained on; val_idx: answers scored after each epoch (none: the last epoch).
            epochs: epochs of the run.
            cache: per answer its token states (of the frozen layers when layers are tuned).
            tune: train the tuned layers too (``False``: the head alone).
            seed: the run's seed (default ``random_state``).

        Returns:
            ``head`` (the best epoch's, in eval mode), ``epoch`` (0: the probe), ``score`` and ``scores`` (validation
            scores), ``val_proba`` (the best epoch's held-out theme probabilities, or ``None``) and ``state``.
        """
        import torch

        from nps_nlp._network import LabelAttentionHead

        head: Any = None
        probe: dict[str, Any] | None = None
        if tune and self.layers.start is not None:
            probe_cache = self.layers.final_states(cache, self.batch_size)
            probe = self.train(targets, train_idx, val_idx, auto_epochs(len(train_idx), self.batch_size), probe_cache,
                               tune=False, seed=seed)
            head = probe["head"]
            del probe_cache
        seed = self.random_state if seed is None else seed
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        device = self.layers.model.device
        head = (head if head is not None else LabelAttentionHead(self.dim, max(self.n_labels, 1))).to(device)
        tuned = self.layers.unfreeze(none=not tune)
        optimiser, schedule = self._optimiser(head, tuned, epochs, len(train_idx))
        best: dict[str, Any] = {"head": head, "epoch": epochs, "score": -1.0, "scores": {}, "val_proba": None,
                                "state": None}
        if probe is not None and probe["state"] is not None:  # the probe (epoch 0) competes with the tuned epochs
            best.update(epoch=0, score=probe["score"], scores=probe["scores"], val_proba=probe["val_proba"],
                        state=self._snapshot(head, tuned))
        loss_of = self._loss(targets, train_idx, device)
        bar: Any = range(epochs)
        if self.show_progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="training", unit="epoch")
        for epoch in bar:
            head.train()
            if tuned:
                self.layers.model.train()
            order = rng.permutation(train_idx)
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                loss = loss_of(head, cache, batch, tuned)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
            if len(val_idx):
                out = self.outputs(head, cache, val_idx, top=tune)
                scores = validation_scores(out, targets, val_idx, self.n_labels > 0)
                if scores["combined"] > best["score"]:
                    best.update(epoch=epoch + 1, score=scores["combined"], scores=scores, val_proba=out.detect,
                                state=self._snapshot(head, tuned))
        head.eval()
        self.layers.model.eval()
        if best["state"] is not None:
            head.load_state_dict(best["state"]["head"])
            self.layers.restore(best["state"]["encoder"])
        return best

    def _optimiser(self, head: Any, tuned: list, epochs: int, n_train: int) -> tuple[Any, Any]:
        """AdamW over the head (and the tuned layers), with a linear warm-up over 6% of the steps and linear decay."""
        import torch

        params = [{"params": head.parameters(), "lr": self.learning_rate}]
        if tuned:
            lr = self.encoder_learning_rate if self.encoder_learning_rate is not None else self.learning_rate / 5
            params.append({"params": tuned, "lr": lr})
        optimiser = torch.optim.AdamW(params, weight_decay=0.01)
        steps = max(1, epochs * -(-n_train // self.batch_size))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min(1.0, (s + 1) / max(1, 0.06 * steps)) * max(0.0, 1 - s / steps))
        return optimiser, schedule

    def _loss(self, targets: dict[str, np.ndarray], train_idx: np.ndarray, device: Any) -> Any:
        """The loss of one batch: theme detection (answers with theme labels), per-theme polarity and overall
        sentiment (classes weighted by inverse frequency, so a rare class is not ignored)."""
        import torch
        from torch.nn import functional as F

        from nps_nlp._network import pad_states

        t = {k: torch.from_numpy(v).to(device) for k, v in targets.items()}
        counts = np.bincount(targets["sentiment"][train_idx][targets["sentiment"][train_idx] >= 0], minlength=3)
        sent_weight = torch.tensor(np.where(counts > 0, counts.sum() / (3 * np.maximum(counts, 1)), 0.0),
                                   dtype=torch.float32, device=device)

        def loss_of(head: Any, cache: list, batch: np.ndarray, tuned: list) -> Any:
            padded, mask = pad_states([cache[i] for i in batch])
            padded, mask = padded.to(device, non_blocking=True), mask.to(device)
            out = head(self.layers.run(padded, mask) if tuned else padded, mask)
            loss = torch.zeros((), device=device)
            has = t["has_themes"][batch]
            if self.n_labels and has.any():
                loss = loss + F.binary_cross_entropy_with_logits(out["detect"][has], t["detect"][batch][has])
            pol = t["polarity"][batch]
            if (pol >= 0).any():
                loss = loss + F.cross_entropy(out["polarity"].reshape(-1, 3), pol.reshape(-1), ignore_index=-100)
            sent = t["sentiment"][batch]
            if (sent >= 0).any():
                loss = loss + F.cross_entropy(out["sentiment"], sent, weight=sent_weight, ignore_index=-100)
            return loss

        return loss_of

    def _snapshot(self, head: Any, tuned: list) -> dict[str, Any]:
        """A copy of the head's weights and (when layers are being tuned) the tuned layers'."""
        return {"head": {k: v.detach().clone() for k, v in head.state_dict().items()},
                "encoder": self.layers.weights() if tuned else {}}
