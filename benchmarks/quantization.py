"""Int8 recipes for the encoder graph against the exact float32 encoder, with the shipped default model.

    python benchmarks/quantization.py                      # every variant
    python benchmarks/quantization.py --variants smoothquant dynamic --speed-only

Each variant is an ONNX graph made from the default encoder's float32 export (kept under ``--workdir``). The
quantized ones run each answer alone, on its own tokens, one per core side by side, as the library runs its int8
graph (so that an answer's reading does not depend on its batch). For each one, against the exact encoder
(torch, float32):

* fidelity: cosine of token states and of mean-pooled sentence vectors on ``--fidelity`` train answers (not the
  calibration answers);
* accuracy of models/default read through that graph: theme micro-F1 and per-theme polarity given the gold themes
  on the seed test split, and on SemEval-2016 en and nl dev (held-out 20% of the train files, categories mapped to
  the generic themes);
* speed: the bare encoder's forward pass at batch 1 and 32, every variant, the float32 ONNX graph and torch taking
  turns on the same chunks of answers, so that load from other processes hits all alike; ratios to both.

Variants: ``dynamic`` (the recipe before: ``quantize_dynamic``, QInt8 weights per channel, embeddings too),
``dynamic-reduce-range`` (7-bit weights: no u8*s8 saturation on CPUs without VNNI), ``dynamic-u8u8`` (QUInt8
weights), ``dynamic-ffn-down-fp32`` (the feed-forward down-projections left in float32), ``dynamic-layers-0-4-fp32``
(the two most sensitive layers left in float32), ``attention-only`` (only the attention projections quantized),
``static-qdq`` (``quantize_static``, QDQ, per-channel weights, MinMax ranges from the calibration answers, the
feed-forward down-projections left in float32), ``static-qdq-smoothed`` (the same after smoothing, every MatMul),
``weight-only-8bit`` (``MatMulNBits``: 8-bit weights in blocks of 32, int8 compute, activations quantized per block),
``smoothquant`` (the library's ``onnx-int8`` recipe: :mod:`nps_nlp.encoders._quantize`) and ``smoothquant-u8u8``.

Writes benchmarks/results/quantization.json with the machine (CPU, flags, load average before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ["NPS_ENCODER_BACKEND"] = "onnx-int8"  # the classifier then reads states from the graph set below
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quantization_variants import VARIANTS, make_variant  # noqa: E402

SEMEVAL = ROOT.parent / "shared" / "data" / "semeval2016_restaurants_nl_en"
OUT = ROOT / "benchmarks" / "results" / "quantization.json"
# graphs in float32; every other variant is quantized and runs its answers alone, as nps_nlp.encoders._onnx does
EXACT = ("torch-fp32", "onnx-fp32")


class Graph:
    """Stands in for :class:`nps_nlp.encoders._onnx.OnnxTransformer` as a token encoder's ``onnx``: runs one
    variant's graph (or, with no path, the torch transformer in float32) for every batch, and remembers each
    padded batch's states, so that an evaluation that encodes the same answers several times runs them once."""

    quantized = True  # so that TokenEncoder.onnx_runtime keeps it under NPS_ENCODER_BACKEND=onnx-int8

    def __init__(self, model: Any, path: Path | None = None, alone: bool = False) -> None:
        import onnxruntime as ort

        self.model, self.path, self.session, self.cache, self.pool = model, path, None, {}, None
        if path is not None:
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            if alone:  # as the library runs int8 graphs: each answer alone, one per core side by side
                from concurrent.futures import ThreadPoolExecutor

                options.intra_op_num_threads = 1
                from nps_nlp.encoders._onnx import _physical_cores

                self.pool = ThreadPoolExecutor(max_workers=_physical_cores())
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def serves(self, batch_size: int) -> bool:
        return True

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One forward pass, uncached."""
        if self.session is None:
            import torch

            with torch.no_grad():
                out = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
            return out.last_hidden_state.float().numpy()
        if self.pool is None:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        from nps_nlp.encoders._onnx import run_each_alone

        return run_each_alone(self.session, self.pool, ids, mask)

    def __call__(self, ids: Any, mask: Any) -> np.ndarray:
        ids, mask = np.asarray(ids, dtype=np.int64), np.asarray(mask, dtype=np.int64)
        key = (ids.shape, ids.tobytes(), mask.tobytes())
        if key not in self.cache:
            self.cache[key] = self.run(ids, mask)
        return self.cache[key]


def train_answers(n: int, seed: int = 0) -> list[str]:
    """``n`` answers of the seed train split, none of them a calibration answer."""
    from nps_nlp.datasets import load_examples
    from nps_nlp.encoders._quantize import calibration_answers

    held = set(calibration_answers())
    texts = [e.text for e in load_examples(ROOT / "data" / "seed" / "train.jsonl") if e.text not in held]
    rng = np.random.default_rng(seed)
    return [texts[i] for i in sorted(rng.choice(len(texts), n, replace=False))]


def fidelity(clf: Any, graph: Graph, exact: list, texts: list[str]) -> dict[str, float]:
    """Token-state and sentence-vector cosine of ``graph`` to the exact states ``exact`` of ``texts``."""
    encoder = clf.load_encoder()
    encoder.onnx = graph
    got = encoder.token_states(texts, batch_size=32, max_length=128)[0]
    tokens, sentences = [], []
    for a, b in zip(exact, got, strict=True):
        a, b = a.double().numpy(), b.double().numpy()
        tokens.append(np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))
        ma, mb = a.mean(0), b.mean(0)
        sentences.append(float(ma @ mb / (np.linalg.norm(ma) * np.linalg.norm(mb))))
    tok, sen = np.concatenate(tokens), np.array(sentences)
    return {"token_cosine_mean": round(float(tok.mean()), 5), "token_cosine_p1": round(float(np.quantile(tok, 0.01)), 5),
            "sentence_cosine_mean": round(float(sen.mean()), 6), "sentence_cosine_min": round(float(sen.min()), 5)}


def eval_sets() -> dict[str, list]:
    """The seed test split and SemEval-2016 en / nl dev (generic themes)."""
    from nps_nlp.datasets import load_examples, train_dev_split

    sets = {"seed_test": load_examples(ROOT / "data" / "seed" / "test.jsonl")}
    for lang, name in (("en", "ABSA16_Restaurants_Train_SB1_v2.xml"), ("nl", "restaurants_dutch_training.xml")):
        examples = load_examples(SEMEVAL / name, format="semeval2016", label_map="semeval2016_to_generic")
        sets[f"semeval_{lang}_dev"] = train_dev_split(examples)[1]
    return sets


def accuracy(clf: Any, graph: Graph, sets: dict[str, list]) -> dict[str, dict]:
    """Theme micro-F1 and polarity given the gold themes of models/default read through ``graph``."""
    from training.evaluate import evaluate_examples

    clf.load_encoder().onnx = graph
    out = {}
    for name, examples in sets.items():
        m = evaluate_examples(clf, examples)
        out[name] = {"theme_micro_f1": m.get("micro_f1"), "polarity": m.get("theme_polarity", {}).get("accuracy")}
    return out


def speed(clf: Any, graphs: dict[str, Graph], texts: list[str], batch: int, chunk: int) -> dict[str, float]:
    """Answers/s of each graph's forward pass at ``batch``; the graphs take turns on each chunk of ``chunk`` answers
    (the order rotating), so a busy machine slows all alike."""
    encoder = clf.load_encoder()
    feeds = []
    for start in range(0, len(texts), batch):
        enc = encoder.tokenize(texts[start : start + batch], 128)
        feeds.append((enc["input_ids"].numpy(), enc["attention_mask"].numpy()))
    per_chunk = max(1, chunk // batch)
    names, seconds = list(graphs), dict.fromkeys(graphs, 0.0)
    for g in graphs.values():  # warm-up: first runs allocate
        g.run(*feeds[0])
    for i, start in enumerate(range(0, len(feeds), per_chunk)):
        for name in names[i % len(names):] + names[: i % len(names)]:
            began = time.perf_counter()
            for ids, mask in feeds[start : start + per_chunk]:
                graphs[name].run(ids, mask)
            seconds[name] += time.perf_counter() - began
    return {name: len(texts) / s for name, s in seconds.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    parser.add_argument("--fidelity", type=int, default=500, help="train answers for the cosine figures")
    parser.add_argument("--speed-answers", type=int, default=256, help="answers per graph at batch 32 (a third at 1)")
    parser.add_argument("--speed-only", action="store_true", help="skip fidelity and accuracy")
    parser.add_argument("--limit", type=int, help="a smoke run: at most this many answers per evaluation set")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nps-nlp-bench/quantization"))
    parser.add_argument("--output", type=Path, help=f"results file (default {OUT}; with --limit, one in --workdir)")
    return parser


def main() -> None:
    args = _parser().parse_args()
    from run_all import machine_description

    from nps_nlp import FeedbackClassifier

    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        sys.exit(f"unknown variant(s) {', '.join(sorted(unknown))}; choose from {', '.join(VARIANTS)}")
    args.output = args.output or (args.workdir / "quantization-limited.json" if args.limit else OUT)
    machine = machine_description()
    clf = FeedbackClassifier.load(ROOT / "models" / "default")
    clf.show_progress_bar = False
    encoder = clf.load_encoder()
    made: dict[str, Path | None] = {"torch-fp32": None}
    for name in ["onnx-fp32", *args.variants]:
        began = time.perf_counter()
        made[name] = make_variant(name, encoder, args.workdir)
        print(f"{name}: {made[name]} ({time.perf_counter() - began:.0f} s)", flush=True)
    results: dict[str, dict] = {name: {"file_mb": round(p.stat().st_size / 1e6) if p else None} for name, p in made.items()}
    if not args.speed_only:
        texts, sets = train_answers(args.fidelity), eval_sets()
        sets = {k: v[: args.limit] for k, v in sets.items()} if args.limit else sets
        exact_graph = Graph(encoder.model)
        encoder.onnx = exact_graph
        exact = encoder.token_states(texts, batch_size=32, max_length=128)[0]
        for name, path in made.items():
            graph = exact_graph if path is None else Graph(encoder.model, path, alone=name not in EXACT)
            results[name]["fidelity"] = fidelity(clf, graph, exact, texts)
            results[name].update(accuracy(clf, graph, sets))
            print(name, json.dumps(results[name]), flush=True)
            _write(args.output, machine, args.limit, results, partial=True)  # an interrupted run keeps its figures
    graphs = {name: Graph(encoder.model, path, alone=name not in EXACT) for name, path in made.items()}
    for batch, n in ((1, args.speed_answers // 3), (32, args.speed_answers)):
        rates = speed(clf, graphs, train_answers(n, seed=1), batch, chunk=32 if batch == 1 else 64)
        for name, rate in rates.items():
            results[name][f"batch{batch}"] = {"answers_per_s": round(rate, 1),
                                             "x_onnx_fp32": round(rate / rates["onnx-fp32"], 2),
                                             "x_torch_fp32": round(rate / rates["torch-fp32"], 2)}
        print(f"batch {batch}:", json.dumps({k: round(v, 1) for k, v in rates.items()}), flush=True)
    _write(args.output, machine, args.limit, results, partial=False)
    _print_table(results)
    print(f"written to {args.output}")


def _write(path: Path, machine: dict, limit: int | None, results: dict[str, dict], *, partial: bool) -> None:
    """The results file: the machine (load average now as ``load_avg_after``), the figures, the goal per variant."""
    machine["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    report = {"machine": machine, "limit": limit, "partial": partial,
              "reference": "torch-fp32: the exact encoder (torch, float32)", "model": "models/default",
              "variants": results, "goal": _goal(results)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _goal(results: dict[str, dict]) -> dict[str, Any]:
    """Per variant: within 0.3 points of the exact encoder's theme micro-F1 and 0.5 points of its polarity on
    every set (issue 25's accuracy goal)."""
    exact = results["torch-fp32"]
    out: dict[str, Any] = {}
    for name, r in results.items():
        if name == "torch-fp32" or "seed_test" not in r:
            continue
        gaps = {f"{s}.{k}": round(100 * (exact[s][k] - r[s][k]), 2) for s in ("seed_test", "semeval_en_dev",
                                                                           "semeval_nl_dev")
                for k in ("theme_micro_f1", "polarity")}
        met = all(gap <= (0.3 if k.endswith("f1") else 0.5) for k, gap in gaps.items())
        out[name] = {"points_below_exact": gaps, "met": met}
    return out


def _print_table(results: dict[str, dict]) -> None:
    print(f"\n{'variant':26s} {'tok.cos':>8s} {'seed F1':>8s} {'pol':>6s} {'en F1':>6s} {'pol':>6s} {'nl F1':>6s} "
          f"{'pol':>6s} {'b1 x32':>7s} {'b32 x32':>7s}")
    for name, r in results.items():
        cells = [r.get("fidelity", {}).get("token_cosine_mean", "-")]
        for s in ("seed_test", "semeval_en_dev", "semeval_nl_dev"):
            cells += [r.get(s, {}).get("theme_micro_f1", "-"), r.get(s, {}).get("polarity", "-")]
        cells += [r.get("batch1", {}).get("x_onnx_fp32", "-"), r.get("batch32", {}).get("x_onnx_fp32", "-")]
        print(f"{name:26s} " + " ".join(f"{str(c):>7s}" for c in cells))


if __name__ == "__main__":
    main()
