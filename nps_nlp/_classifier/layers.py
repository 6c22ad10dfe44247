"""The encoder's top layers that fine-tuning trains (``finetune_layers=N``), and running them over cached states.

The frozen layers below run once per fit and their output is cached; the tuned top layers then run over that cache
at every training step.
"""

from __future__ import annotations

from typing import Any

from nps_nlp.encoders._precision import inference_autocast

__all__ = ["TunedLayers"]


class TunedLayers:
    """The top ``finetune_layers`` layers of a transformer (none when ``finetune_layers`` is 0 or less).

    Args:
        model: the torch transformer (``model.encoder.layer`` its layers).
        finetune_layers: how many layers from the top are tuned.
    """

    def __init__(self, model: Any, finetune_layers: int) -> None:
        self.model = model
        self.finetune_layers = finetune_layers

    @property
    def start(self) -> int | None:
        """How many layers stay frozen below the tuned ones (``None`` with a frozen encoder)."""
        if self.finetune_layers <= 0:
            return None
        return max(0, len(self.model.encoder.layer) - self.finetune_layers)

    def names(self) -> list[str]:
        """The state-dict prefixes of the tuned layers (``encoder.layer.<i>.``)."""
        start = self.start
        keep = range(start, len(self.model.encoder.layer)) if start is not None else []
        return [f"encoder.layer.{i}." for i in keep]

    def weights(self) -> dict[str, Any]:
        """A copy of the tuned layers' weights (empty with a frozen encoder)."""
        prefixes = tuple(self.names())
        if not prefixes:
            return {}
        return {k: v.detach().clone() for k, v in self.model.state_dict().items() if k.startswith(prefixes)}

    def restore(self, weights: dict[str, Any]) -> None:
        """Put weights from :meth:`weights` back (nothing for an empty dict)."""
        if weights:
            self.model.load_state_dict(weights, strict=False)

    def unfreeze(self, none: bool = False) -> list:
        """Make the tuned layers trainable and every other weight frozen (``none``: freeze everything); returns
        the trainable parameters."""
        for p in self.model.parameters():
            p.requires_grad_(False)
        start = self.start
        if start is None or none:
            return []
        tuned = [p for layer in self.model.encoder.layer[start:] for p in layer.parameters()]
        for p in tuned:
            p.requires_grad_(True)
        return tuned

    def run(self, states: Any, mask: Any) -> Any:
        """Run the tuned layers over padded frozen-part states ``[B, T, D]`` (identity with a frozen encoder).

        The layers run in bfloat16 autocast where the CPU computes it natively; the result is float32, for the
        head."""
        start = self.start
        if start is None:
            return states
        import torch

        additive = torch.zeros(mask.shape, dtype=states.dtype, device=states.device)
        additive = additive.masked_fill(~mask, torch.finfo(states.dtype).min)[:, None, None, :]
        with inference_autocast(device=states.device.type):
            for layer in self.model.encoder.layer[start:]:
                states = layer(states, additive)
                states = states[0] if isinstance(states, tuple) else states
        return states.float()

    def final_states(self, cache: list, batch_size: int) -> list:
        """The final token states of cached frozen-part states (the tuned layers run once, without gradients)."""
        import torch

        from nps_nlp._network import bucketed_batches, pad_states

        out: list[Any] = [None] * len(cache)
        device = self.model.device
        with torch.no_grad():
            for length, idx in bucketed_batches([len(s) for s in cache], batch_size):
                padded, mask = pad_states([cache[i] for i in idx], length)
                top = self.run(padded.to(device), mask.to(device)).cpu()
                for row, i in enumerate(idx):
                    out[i] = top[row, : len(cache[i])].clone()
        return out
