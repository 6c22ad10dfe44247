"""The int8 recipes that benchmarks/quantization.py compares, each made once from the default encoder's float32
export. ``smoothquant`` is the library's own ``onnx-int8`` recipe (:mod:`nps_nlp.encoders._quantize`); the others are
built here with ONNX Runtime's quantization tools."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

VARIANTS = ("dynamic", "dynamic-reduce-range", "dynamic-u8u8", "dynamic-ffn-down-fp32", "dynamic-layers-0-4-fp32",
            "attention-only", "static-qdq", "static-qdq-smoothed", "weight-only-8bit", "smoothquant",
            "smoothquant-u8u8")


def float32_graph(encoder: Any) -> Path:
    """The token encoder's float32 ONNX export (made once in the library's cache)."""
    from nps_nlp._settings import get_settings
    from nps_nlp.encoders._onnx import OnnxTransformer

    return OnnxTransformer(encoder.model, encoder.tokenizer, encoder.cache_dir or get_settings().cache_dir).path


def weight_kind(model: Any) -> dict[str, str]:
    """Each weight MatMul's role by its weight's shape: ``attention`` (square), ``ffn_up`` (wider out than in),
    ``ffn_down`` (narrower)."""
    from onnx import numpy_helper

    from nps_nlp.encoders._quantize import weight_matmuls

    shapes = {i.name: numpy_helper.to_array(i).shape for i in model.graph.initializer}
    kinds = {}
    for nodes in weight_matmuls(model).values():
        for n in nodes:
            k, m = shapes[n.input[1]]
            kinds[n.name] = "attention" if k == m else ("ffn_up" if m > k else "ffn_down")
    return kinds


def layer_of(node_name: str) -> int | None:
    """The transformer layer a node belongs to, from its exported name (``.../layer.4/...``)."""
    found = re.search(r"layer\.(\d+)/", node_name)
    return int(found.group(1)) if found else None


class _Feeds:
    """The calibration answers as an ONNX Runtime ``CalibrationDataReader``."""

    def __init__(self, encoder: Any) -> None:
        from nps_nlp.encoders._quantize import calibration_feeds

        self.feeds = iter(calibration_feeds(encoder.tokenizer, encoder.prefix))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def _smoothed(encoder: Any, source: Path, target: Path) -> Path:
    import onnx

    from nps_nlp.encoders._quantize import calibration_feeds, channel_ranges, smooth

    model = onnx.load(str(source))
    onnx.save(smooth(model, channel_ranges(model, calibration_feeds(encoder.tokenizer, encoder.prefix))), str(target))
    return target


def _static(encoder: Any, source: Path, target: Path, exclude: list[str]) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    quantize_static(str(source), str(target), _Feeds(encoder), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, op_types_to_quantize=["MatMul"],
                    nodes_to_exclude=exclude, calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"MatMulConstBOnly": True})


def _weight_only(source: Path, target: Path, block: int = 32) -> None:
    """Every weight MatMul as ``MatMulNBits`` with 8-bit symmetric weights in blocks of ``block`` inputs per output
    column, accuracy level 4 (int8 compute, activations quantized per block)."""
    import onnx
    from onnx import helper, numpy_helper

    from nps_nlp.encoders._quantize import weight_matmuls

    model = onnx.load(str(source))
    inits = {i.name: i for i in model.graph.initializer}
    for nodes in weight_matmuls(model).values():
        for node in nodes:
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)  # [K, N]
            k, n = w.shape
            blocks = -(-k // block)
            padded = np.zeros((n, blocks * block), np.float32)
            padded[:, :k] = w.T
            padded = padded.reshape(n, blocks, block)
            scale = np.abs(padded).max(axis=2) / 127.0
            scale[scale == 0] = 1.0
            q = (np.clip(np.rint(padded / scale[..., None]), -127, 127) + 128).astype(np.uint8)
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(q, node.input[1]))
            model.graph.initializer.append(numpy_helper.from_array(scale.reshape(-1).astype(np.float32),
                                                                   node.input[1] + "/scales"))
            replacement = helper.make_node("MatMulNBits", [node.input[0], node.input[1], node.input[1] + "/scales"],
                                           list(node.output), name=node.name, domain="com.microsoft", K=k, N=n, bits=8,
                                           block_size=block, accuracy_level=4)
            node.CopyFrom(replacement)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))


def make_variant(name: str, encoder: Any, workdir: Path) -> Path:
    """The graph of one variant (``onnx-fp32`` or a name in :data:`VARIANTS`), made in ``workdir`` once."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from nps_nlp.encoders._quantize import quantize_onnx

    source = float32_graph(encoder)
    if name == "onnx-fp32":
        return source
    if name == "smoothquant":
        return quantize_onnx(source, encoder.tokenizer, prompt=encoder.prefix)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"{source.stem}-{name}.onnx"
    if target.is_file():
        return target
    kinds = weight_kind(onnx.load(str(source), load_external_data=False))
    down = [n for n, k in kinds.items() if k == "ffn_down"]
    s8 = {"weight_type": QuantType.QInt8, "per_channel": True}
    if name == "dynamic":
        quantize_dynamic(str(source), str(target), **s8)
    elif name == "dynamic-reduce-range":
        quantize_dynamic(str(source), str(target), reduce_range=True, **s8)
    elif name == "dynamic-u8u8":
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QUInt8, per_channel=True)
    elif name == "dynamic-ffn-down-fp32":
        quantize_dynamic(str(source), str(target), nodes_to_exclude=down, **s8)
    elif name == "dynamic-layers-0-4-fp32":
        quantize_dynamic(str(source), str(target), nodes_to_exclude=[n for n in kinds if layer_of(n) in (0, 4)], **s8)
    elif name == "attention-only":
        quantize_dynamic(str(source), str(target), nodes_to_quantize=[n for n, k in kinds.items() if k == "attention"],
                         op_types_to_quantize=["MatMul"], **s8)
    elif name == "static-qdq":
        _static(encoder, source, target, exclude=down)
    elif name == "static-qdq-smoothed":
        _static(encoder, _smoothed(encoder, source, workdir / f"{source.stem}-smoothed.onnx"), target, exclude=[])
    elif name == "weight-only-8bit":
        _weight_only(source, target)
    elif name == "smoothquant-u8u8":
        smoothed = _smoothed(encoder, source, workdir / f"{source.stem}-smoothed.onnx")
        quantize_dynamic(str(smoothed), str(target), weight_type=QuantType.QUInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gather"])
    else:
        raise ValueError(f"unknown variant {name!r}")
    return target
