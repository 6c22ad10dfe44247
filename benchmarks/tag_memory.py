"""Peak memory of ``nps-nlp tag`` with the default model as the input grows, and the memory of a loaded pipeline.

    python benchmarks/tag_memory.py --rows 1000 10000 100000 --label after [--root /path/to/other/checkout]

Inputs are the seed answers (all splits, in file order) repeated up to each size: ``id,text,score,lang`` CSVs in
--workdir, made once and kept, so that two checkouts are measured on the same files (the ``lang`` column is not
passed as a hint: languages are detected, as in a plain ``nps-nlp tag`` run). For each size, in a fresh process:

* ``tag``: ``python -m nps_nlp.cli tag INPUT -o OUTPUT.csv`` run in --root, its peak RSS as the kernel counts it
  (``ru_maxrss`` of that process), and the peak of the process and its children sampled every 0.1 s; with
  --max-seconds a run still going then is stopped (``complete: false``, ``rows`` from its resume manifest);
* ``ready`` (once): a process that loads ``FeedbackPipeline`` from ``models/default`` and analyses one answer, as a
  service does before its first request: its RSS then, and its peak.

Results go under --label in benchmarks/results/tag_memory.json (other labels are kept), with the machine's load.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tag_memory.json"

READY = r"""
import json, resource, sys, psutil
from nps_nlp.pipeline import FeedbackPipeline
pipe = FeedbackPipeline.load("models/default")
pipe.analyze(["Great staff but the invoice was wrong again"], scores=[6])
print(json.dumps({"ready_rss_mb": round(psutil.Process().memory_info().rss / 2**20),
                  "ready_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def build_input(path: Path, n: int) -> Path:
    """A CSV of the first ``n`` seed answers, the seed answers repeated as often as needed."""
    if path.exists():
        return path
    answers = [json.loads(line) for split in ("train", "dev", "test")
               for line in (ROOT / "data" / "seed" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "score", "lang"])
        for i in range(n):
            a = answers[i % len(answers)]
            writer.writerow([f"r{i:08d}", a["text"], a["score"], a["lang"]])
    os.replace(tmp, path)
    return path


def run_sampled(cmd: list[str], cwd: Path, log: Path, max_seconds: float = 0) -> dict[str, Any]:
    """Run ``cmd`` (output to ``log``), stopped after ``max_seconds`` (0: never); its exit code, wall time, whether
    it was stopped, its kernel peak RSS and the peak RSS of it and its children sampled every 0.1 s."""
    import psutil

    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    peak, done, stopped = [0], threading.Event(), threading.Event()

    def sample() -> None:
        me = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]))
            except psutil.Error:
                pass
            if max_seconds and not stopped.is_set() and time.perf_counter() - start > max_seconds:
                stopped.set()
                proc.terminate()
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    return {"rc": 0 if stopped.is_set() else os.waitstatus_to_exitcode(status), "complete": not stopped.is_set(),
            "seconds": round(time.perf_counter() - start, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "sampled_peak_rss_mb": round(peak[0] / 2**20)}


def save(label: str, result: dict[str, Any]) -> None:
    """Put ``result`` under ``label`` in the results file, keeping the other labels."""
    info = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    info[label] = result
    RESULTS.write_text(json.dumps(info, indent=2) + "\n")


def measure(root: Path, rows: list[int], workdir: Path, label: str, max_seconds: float = 0) -> dict[str, Any]:
    """The ``ready`` figures and one ``tag`` run per input size, with the checkout in ``root``; saved under
    ``label`` after each run, so that an interrupted measurement keeps what it measured."""
    python = sys.executable
    ready_log = workdir / "ready.log"
    ready = run_sampled([python, "-c", READY], root, ready_log)
    if ready["rc"]:
        sys.exit(f"loading the pipeline failed:\n{ready_log.read_text()[-3000:]}")
    result: dict[str, Any] = {**json.loads(ready_log.read_text().strip().splitlines()[-1]), "tag": []}
    for n in rows:
        source = build_input(workdir / f"seed-{n}.csv", n)
        output = workdir / f"tagged-{n}.csv"
        parts = output.with_name(output.name + ".parts")
        shutil.rmtree(parts, ignore_errors=True)
        for stale in (output, output.with_name(output.name + ".rejects.csv")):
            stale.unlink(missing_ok=True)
        run = run_sampled([python, "-m", "nps_nlp.cli", "tag", str(source), "-o", str(output)], root,
                          workdir / f"tag-{n}.log", max_seconds)
        if rc := run.pop("rc"):
            sys.exit(f"nps-nlp tag on {n} rows failed (exit code {rc}):\n{(workdir / f'tag-{n}.log').read_text()[-3000:]}")
        manifest = parts / "manifest.json"
        done = n if run["complete"] else json.loads(manifest.read_text())["state"]["rows"] if manifest.exists() else 0
        result["tag"].append({"input_rows": n, "rows": done, **run, "rows_per_s": round(done / run["seconds"], 1)})
        shutil.rmtree(parts, ignore_errors=True)
        save(label, result)
        print(json.dumps(result["tag"][-1]), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--label", required=True, help="key of this run in the results file (e.g. before, after)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--note", default="", help="what the checkout is (a commit, a change)")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop a tag run after this long (0: never)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nps-nlp-tag-memory"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    load = round(os.getloadavg()[0], 1)
    result = measure(args.root.resolve(), sorted(args.rows), args.workdir, args.label, args.max_seconds)
    result.update(note=args.note, cpus=len(os.sched_getaffinity(0)), load_avg_1m=[load, round(os.getloadavg()[0], 1)])
    save(args.label, result)
    print(f"ready RSS {result['ready_rss_mb']} MB; peak RSS of nps-nlp tag: "
          + ", ".join(f"{r['rows']:,} of {r['input_rows']:,} rows {r['peak_rss_mb']} MB" for r in result["tag"])
          + f" (written to {RESULTS})")


if __name__ == "__main__":
    main()
