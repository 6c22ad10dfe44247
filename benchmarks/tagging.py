"""Batch tagging throughput (rows/s) and peak memory, local engine and Ray, beside the bare encoder.

    python benchmarks/tagging.py --rows 10000 100000 1000000 [--ray-rows 100000] [--max-seconds 60]

Synthetic inputs are built by sampling the seed answers (all splits) with random scores, timestamps and
segments (CSV, one file per size, in --workdir). For every size, in fresh subprocesses so that peak memory
belongs to one job (peak RSS summed over the process and all its descendants, Ray workers included):

* ``model``: the local engine with the real model on the full file, stopped after --max-seconds of
  tagging (a time-boxed prefix: at ~75 rows/s on 2 cores, 1M rows would take hours). rows/s counts
  tagging only (model loading excluded), like the encoder figure.
* ``stream``: the same job over the *whole* file with a stub pipeline that returns empty tags, which
  measures what grows with the input (reading, writing parts, assembling, the summary) without the model.
* ``ray``: the Ray engine on the first --ray-limit rows of the --ray-rows file (one actor per --ray-workers).
* ``encoder``: the bare encoder (``encode`` in batches of 64) on the same answers, in the same run.
* ``paired``: encoder and engine (``tag_rows``: the pipeline plus flattening) alternately on the same
  chunks in one process, so that load from other processes on a shared machine hits both alike; its
  ``engine_vs_encoder`` is the fairest ratio on a busy machine.

Writes benchmarks/results/tagging.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MONITOR = r"""
import threading, time, psutil
_peak = [0]
def _watch():
    me = psutil.Process()
    while True:
        try:
            procs = [me] + me.children(recursive=True)
            _peak[0] = max(_peak[0], sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
threading.Thread(target=_watch, daemon=True).start()
"""

JOB = MONITOR + r"""
import json, shutil, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
kind, path, out, max_s, limit, workers = {kind!r}, Path({path!r}), Path({out!r}), {max_s!r}, {limit!r}, {workers!r}
for p in (out, out.with_name(out.name + ".parts")):
    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
from nps_nlp.batch import ColumnMap, summarize_output, tag_file
cols = ColumnMap(segments={{"team": "team", "channel": "channel"}})
result = {{"kind": kind, "input_rows": sum(1 for _ in open(path, "rb")) - 1, "input_mb": round(path.stat().st_size / 2**20, 1)}}
if kind == "encoder":
    import csv as _csv
    from nps_nlp.encoders import load_encoder
    with open(path, newline="", encoding="utf-8") as f:
        texts = [r["text"] for _, r in zip(range(limit), _csv.DictReader(f))]
    enc = load_encoder()
    enc.encode(texts[:64])
    t0, n = time.perf_counter(), 0
    for i in range(0, len(texts), 64):
        enc.encode(texts[i : i + 64]); n += len(texts[i : i + 64])
        if time.perf_counter() - t0 > max_s: break
    result.update(rows=n, rows_per_s=round(n / (time.perf_counter() - t0), 1))
elif kind == "paired":
    # encoder and engine rows alternately on the same answers, so a shared machine's load hits both alike
    import csv as _csv
    from nps_nlp.batch import tag_rows
    from nps_nlp.encoders import load_encoder
    from nps_nlp.pipeline import FeedbackPipeline
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for _, r in zip(range(limit), _csv.DictReader(f))]
    enc, pipe = load_encoder(), FeedbackPipeline.load(Path({root!r}) / "models" / "default")
    cols = ColumnMap().resolve(list(rows[0]))
    tag_rows(rows[:32], pipe, cols); enc.encode([r["text"] for r in rows[:32]])
    times = {{"encoder": 0.0, "engine": 0.0}}
    for i in range(0, len(rows), {chunk}):
        batch = rows[i : i + {chunk}]
        t = time.perf_counter(); enc.encode([r["text"] for r in batch]); times["encoder"] += time.perf_counter() - t
        t = time.perf_counter(); tag_rows(batch, pipe, cols); times["engine"] += time.perf_counter() - t
    result.update(rows=len(rows), encoder_rows_per_s=round(len(rows) / times["encoder"], 1),
                  rows_per_s=round(len(rows) / times["engine"], 1),
                  engine_vs_encoder=round(times["encoder"] / times["engine"], 3))
elif kind == "ray":
    from nps_nlp.batch._ray import tag_file_ray
    t0 = time.perf_counter()
    rep = tag_file_ray(path, out, model=str(Path({root!r}) / "models" / "default"), columns=cols, workers=workers,
                       chunk_size={chunk}, limit=limit)
    result.update(rows=rep.rows, seconds=rep.seconds, rows_per_s=rep.rows_per_s, workers=workers,
                  note="wall time includes starting Ray and loading the model in each actor")
else:
    class Stop(Exception):
        pass
    if kind == "stream":
        from nps_nlp.pipeline import AnalyzedAnswer
        from nps_nlp._results import FeedbackResult
        from nps_nlp.urgency import UrgencyResult
        class Stub:
            def analyze(self, texts, scores=None, langs=None):
                return [AnalyzedAnswer(FeedbackResult(t, "en", 1.0, "neutral", 0.0), s, None, UrgencyResult())
                        for t, s in zip(texts, scores)]
        pipe = Stub()
    else:
        from nps_nlp.pipeline import FeedbackPipeline
        pipe = FeedbackPipeline.load(Path({root!r}) / "models" / "default")
    t0 = [None]
    def hook(done):
        if t0[0] is None:
            t0[0] = time.perf_counter()
        elif max_s and time.perf_counter() - t0[0] > max_s:
            raise Stop()
    start = time.perf_counter()
    try:
        rep = tag_file(path, out, pipeline=pipe, columns=cols, chunk_size={chunk}, progress=False, after_chunk=hook)
        result.update(rows=rep.rows, rows_per_s=rep.rows_per_s, seconds=round(time.perf_counter() - start, 1), complete=True)
        summary = summarize_output(rep.output, rep.columns)
        result["summary_seconds"] = round(time.perf_counter() - start - result["seconds"], 1)
    except Stop:
        manifest = json.loads((out.with_name(out.name + ".parts") / "manifest.json").read_text())
        rows = manifest["state"]["rows"] - {chunk}  # the first chunk is the warm-up, timed from its end
        result.update(rows=rows, rows_per_s=round(rows / (time.perf_counter() - t0[0]), 1), complete=False)
    shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)
result["peak_rss_mb"] = round(_peak[0] / 2**20)
print(json.dumps(result))
"""


def build_input(path: Path, n: int, seed: int = 0) -> Path:
    """A CSV of ``n`` seed answers sampled with replacement, with random score, timestamp and segments."""
    if path.exists():
        return path
    from nps_nlp.datasets import load_examples

    examples = [e for split in ("train", "dev", "test") for e in load_examples(ROOT / "data" / "seed" / f"{split}.jsonl")]
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "score", "timestamp", "team", "channel"])
        for i in range(n):
            e = rng.choice(examples)
            score = e.score if e.score is not None and rng.random() < 0.8 else rng.randint(0, 10)
            day = f"20{rng.randint(21, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
            writer.writerow([f"s{i:08d}", e.text, score, day,
                             rng.choice(["support", "sales", "billing"]), rng.choice(["web", "app", "email", "phone"])])
    os.replace(tmp, path)
    return path


def run(kind: str, path: Path, out: Path, max_s: float, limit: int | None = None, workers: int = 1, chunk: int = 256) -> dict:
    code = JOB.format(root=str(ROOT), kind=kind, path=str(path), out=str(out), max_s=max_s, limit=limit, workers=workers,
                      chunk=chunk)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    if proc.returncode:
        sys.exit(f"{kind} on {path.name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--ray-rows", type=int, default=100_000, help="input size for the Ray run (0: no Ray run)")
    parser.add_argument("--ray-limit", type=int, default=2000, help="rows the Ray run tags")
    parser.add_argument("--ray-workers", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=60, help="tagging time per model run (0: the whole file)")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--paired", type=int, default=1024, help="rows of the paired encoder/engine comparison (0: none)")
    parser.add_argument("--paired-only", action="store_true",
                        help="run only the paired comparison and add it to an existing results/tagging.json")
    parser.add_argument("--no-stream", action="store_true", help="skip the full-file stub runs")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nps-nlp-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = ROOT / "benchmarks" / "results" / "tagging.json"
    if args.paired_only:
        n = min(args.rows)
        paired = run("paired", build_input(args.workdir / f"synthetic-{n}.csv", n), args.workdir / "none", 0,
                     limit=args.paired, chunk=args.chunk_size)
        info = json.loads(out.read_text())
        info["results"] = [r for r in info["results"] if r["kind"] != "paired"] + [paired]
        info["paired_load_avg_1m"] = round(os.getloadavg()[0], 1)
        out.write_text(json.dumps(info, indent=2))
        return
    sizes = sorted(set(args.rows) | ({args.ray_rows} if args.ray_rows else set()))
    inputs = {n: build_input(args.workdir / f"synthetic-{n}.csv", n) for n in sizes}
    results = [run("encoder", inputs[min(sizes)], args.workdir / "none", args.max_seconds or 60, limit=5000)]
    if args.paired:
        results.append(run("paired", inputs[min(sizes)], args.workdir / "none", 0, limit=args.paired, chunk=args.chunk_size))
    for n in args.rows:
        results.append(run("model", inputs[n], args.workdir / f"tagged-{n}.csv", args.max_seconds, chunk=args.chunk_size))
        if not args.no_stream:
            results.append(run("stream", inputs[n], args.workdir / f"stream-{n}.csv", 0, chunk=args.chunk_size))
    if args.ray_rows:
        results.append(run("ray", inputs[args.ray_rows], args.workdir / f"ray-{args.ray_rows}.parquet", 0,
                           limit=args.ray_limit, workers=args.ray_workers, chunk=args.chunk_size))
    encoder = results[0]["rows_per_s"]
    for r in results:
        if r["kind"] in ("model", "ray"):
            r["vs_encoder"] = round(r["rows_per_s"] / encoder, 3)
        elif r["kind"] == "paired":
            r["vs_encoder"] = r["engine_vs_encoder"]
    info = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1), "max_seconds": args.max_seconds,
            "chunk_size": args.chunk_size,
            "results": results}
    out.write_text(json.dumps(info, indent=2))
    print(f"\n{'job':8s} {'input rows':>11s} {'rows done':>10s} {'rows/s':>8s} {'vs enc.':>8s} {'peak RSS MB':>12s}")
    for r in results:
        print(f"{r['kind']:8s} {r['input_rows']:>11,} {r['rows']:>10,} {r['rows_per_s']:>8} {r.get('vs_encoder', ''):>8} "
              f"{r['peak_rss_mb']:>12}")
    print(f"(written to {out})")


if __name__ == "__main__":
    main()
