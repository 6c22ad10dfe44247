"""Int8 quantization of the exported encoder graph: smoothed on real answers, then dynamically quantized.

ONNX Runtime's dynamic quantization gives each weight MatMul int8 weights (one scale per output channel) and
quantizes the MatMul's input on the fly with one scale for the whole tensor. A transformer's activations have a
few outlier channels (after its layer norms, and among the feed-forward layer's hidden units) that are many times
larger than the rest; they set that one scale, and every other channel is left with a handful of int8 steps.

Smoothing (SmoothQuant, Xiao et al., 2023) moves most of that range into the weights before quantizing: for each
tensor ``x`` that feeds weight MatMuls, a factor per input channel ``s_j = max|x_j|^a / max|W_j|^(1-a)`` divides
``x`` (one ``Mul`` node) and multiplies row ``j`` of those MatMuls' weights, so the float32 product is unchanged and
the int8 one loses much less. ``max|x_j|`` is measured with the float32 graph on the answers in
``nps_nlp/data/calibration_answers.yaml`` (the project's own train answers in en/nl/nb/nn); ``max|W_j|`` runs over
every MatMul that reads ``x`` (the attention's query, key and value share one factor). The graph is rebuilt per
set of weights, so a tuned encoder is calibrated on its own activations.

``benchmarks/quantization.py`` compares this recipe with the others tried (plain dynamic, sensitive MatMuls left in
float32, static QDQ, attention-only, weight-only 8-bit) on accuracy and speed.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["QUANTIZATION", "SMOOTHING_ALPHA", "calibration_answers", "calibration_feeds", "channel_ranges", "quantize_onnx",
           "smooth", "weight_matmuls"]

#: The recipe's name, part of the cached graph's file name: a new recipe never reuses a graph made by an older one.
QUANTIZATION = "int8-sq1"
#: SmoothQuant's migration strength ``a``: how much of an input channel's range moves into the weights.
SMOOTHING_ALPHA = 0.75
_CALIBRATION_BATCH = 16


@cache
def calibration_answers() -> tuple[str, ...]:
    """The answers that calibrate the smoothing factors (shipped with the package)."""
    from importlib.resources import files

    import yaml

    text = files("nps_nlp").joinpath("data", "calibration_answers.yaml").read_text(encoding="utf-8")
    return tuple(str(a) for a in yaml.safe_load(text)["answers"])


def weight_matmuls(model: Any) -> dict[str, list[Any]]:
    """The graph's MatMul nodes whose second input is a weight (an initializer used by that node alone), grouped
    by their first input: ``{input tensor name: [nodes]}``."""
    uses: dict[str, int] = defaultdict(int)
    for node in model.graph.node:
        for name in node.input:
            uses[name] += 1
    weights = {init.name for init in model.graph.initializer}
    groups: dict[str, list[Any]] = defaultdict(list)
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights and uses[node.input[1]] == 1:
            groups[node.input[0]].append(node)
    return dict(groups)


def channel_ranges(model: Any, feeds: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Largest absolute value per channel (last axis) of every weight MatMul's input over ``feeds``, measured with
    the float32 graph; padded positions (``attention_mask`` 0) are left out.

    Args:
        model: the float32 ``onnx.ModelProto`` (not changed: a copy gets the extra outputs).
        feeds: batches of ONNX Runtime inputs (``input_ids``, ``attention_mask``).
    """
    import onnx
    import onnxruntime as ort

    names = sorted(weight_matmuls(model))
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    del probe
    ranges: dict[str, np.ndarray] = {}
    for feed in feeds:
        mask = feed["attention_mask"].astype(bool)
        for name, out in zip(names, session.run(names, feed), strict=True):
            values = out[mask] if out.shape[:2] == mask.shape else out.reshape(-1, out.shape[-1])
            peak = np.abs(values).max(axis=0)
            ranges[name] = peak if name not in ranges else np.maximum(ranges[name], peak)
    return ranges


def smooth(model: Any, ranges: dict[str, np.ndarray], alpha: float = SMOOTHING_ALPHA) -> Any:
    """Divide each weight MatMul's input by its smoothing factors and multiply the weights' rows by them (in place;
    the float32 function of the graph is unchanged up to rounding).

    Args:
        model: the float32 ``onnx.ModelProto``.
        ranges: per-channel input ranges from :func:`channel_ranges`; inputs without one are left as they are.
        alpha: migration strength, 0 (nothing moves) to 1 (inputs flattened to the same range).

    Returns:
        ``model``.
    """
    from onnx import helper, numpy_helper

    inits = {init.name: init for init in model.graph.initializer}
    groups = {x: nodes for x, nodes in weight_matmuls(model).items() if x in ranges}
    inverse = {}
    for x, nodes in groups.items():
        weights = [numpy_helper.to_array(inits[n.input[1]]).astype(np.float32) for n in nodes]
        if any(w.ndim != 2 or w.shape[0] != ranges[x].shape[0] for w in weights):
            continue  # not a plain [in, out] weight
        w_peak = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
        s = np.power(np.maximum(ranges[x], 1e-5), alpha) / np.power(np.maximum(w_peak, 1e-5), 1 - alpha)
        s = s.astype(np.float32)
        for node, w in zip(nodes, weights, strict=True):
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(w * s[:, None], node.input[1]))
            node.input[0] = f"{x}/smoothed"
        inverse[x] = (1.0 / s).astype(np.float32)
    nodes = list(model.graph.node)
    del model.graph.node[:]
    for x, inv in inverse.items():
        model.graph.initializer.append(numpy_helper.from_array(inv, f"{x}/smoothing"))
    # each Mul right after its input is made (graph inputs first), so the node list stays in topological order
    made_by = {out: i for i, node in enumerate(nodes) for out in node.output}
    after: dict[int, list[Any]] = defaultdict(list)
    for x in inverse:
        after[made_by.get(x, -1)].append(helper.make_node("Mul", [x, f"{x}/smoothing"], [f"{x}/smoothed"],
                                                          name=f"{x}/smooth"))
    model.graph.node.extend(after[-1])
    for i, node in enumerate(nodes):
        model.graph.node.append(node)
        model.graph.node.extend(after[i])
    return model


def calibration_feeds(tokenizer: Any, prompt: str) -> list[dict[str, np.ndarray]]:
    """The calibration answers, each preceded by ``prompt``, as padded ONNX Runtime input batches."""
    answers = [prompt + a for a in calibration_answers()]
    feeds = []
    for start in range(0, len(answers), _CALIBRATION_BATCH):
        enc = tokenizer(answers[start : start + _CALIBRATION_BATCH], padding=True, truncation=True, max_length=128,
                        return_tensors="np")
        feeds.append({"input_ids": enc["input_ids"].astype(np.int64),
                      "attention_mask": enc["attention_mask"].astype(np.int64)})
    return feeds


def quantize_onnx(path: Path, tokenizer: Any, *, prompt: str = "query: ", verbose: bool = False) -> Path:
    """The int8 twin of an exported float32 graph (``<stem>-int8-sq1.onnx`` beside it), made once: smoothed with
    factors calibrated on the shipped answers (each preceded by ``prompt``, as the encoder reads them), then
    dynamically quantized (int8 weights, one scale per output channel, inputs quantized per call).

    Args:
        path: the float32 graph (inputs ``input_ids`` and ``attention_mask``).
        tokenizer: the encoder's tokenizer (for the calibration answers).
        prompt: put before each calibration answer.
        verbose: say on stderr when the graph is made.

    Returns:
        The quantized graph's path; written to a temporary file and renamed, so an interrupted run leaves nothing
        half-written.
    """
    target = path.with_name(f"{path.stem}-{QUANTIZATION}.onnx")
    if target.is_file():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if verbose:
        print(f"Quantizing the encoder to int8 in {target} (once)...", file=sys.stderr)
    model = onnx.load(str(path))
    smooth(model, channel_ranges(model, calibration_feeds(tokenizer, prompt)))
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    try:
        quantize_dynamic(model, str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul", "Gather"])
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
