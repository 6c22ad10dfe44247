"""Load test of the service with a real HTTP client, next to the bare encoder measured in the same run.

    python benchmarks/load.py [--url http://host:port --key KEY] [--requests 300] [--levels 1,8,32]
                              [--batch-size 64] [--batch-requests 5] [--rounds 3] [--backend torch|onnx|onnx-int8]
                              [--workers N] [--threads N] [--max-size N] [--wait-ms MS] [--output FILE]

Without ``--url`` it starts ``nps-nlp serve`` on a free port (temporary SQLite, no auth) and stops it at the
end. Measures, with httpx (async):

* single-answer ``POST /v1/classify`` at 1, 8 and 32 concurrent clients: throughput and p50/p95/p99 latency;
* batched classify (``--batch-size`` answers per request, sequential requests): answers/s;
* the bare encoder (``load_encoder(backend="torch").encode``, batch 64) on the same texts, in this process,
  while the service is idle; batched classify and the encoder take turns (``--rounds``) so load changes hit both alike.

Texts are the seed answers. Prints a table and writes ``benchmarks/results/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _texts() -> list[str]:
    texts = []
    for split in ("train", "dev", "test"):
        for line in (ROOT / "data" / "seed" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    return texts


def _start_service(tmp: Path, backend: str, settings: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``nps-nlp serve``; ``settings``: service settings by environment name (None: the service's default)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "nps_nlp.cli", "serve", "--port", str(port), "--no-auth", "--log-level", "WARNING",
           "--database-url", f"sqlite:///{tmp / 'load.db'}"]
    env = {**os.environ, "NPS_MODEL_POLL_S": "0", "NPS_ENCODER_BACKEND": backend}
    env.update({name: str(value) for name, value in settings.items() if value is not None})
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the service exited with code {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    sys.exit("the service did not become ready within 300 s")


def _stats(latencies: list[float], n_answers: int, seconds: float) -> dict[str, Any]:
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "answers": n_answers, "seconds": round(seconds, 2),
            "answers_per_s": round(n_answers / seconds, 1), "requests_per_s": round(len(latencies) / seconds, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1)}


async def _run_level(client: httpx.AsyncClient, texts: list[str], concurrency: int, n_requests: int,
                     batch: int = 1) -> dict[str, Any]:
    counter = iter(range(n_requests))
    latencies: list[float] = []

    async def worker() -> None:
        for i in counter:
            answers = [{"text": texts[(i * batch + j) % len(texts)]} for j in range(batch)]
            t0 = time.perf_counter()
            r = await client.post("/v1/classify", json={"answers": answers})
            latencies.append(time.perf_counter() - t0)
            r.raise_for_status()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    seconds = time.perf_counter() - started
    # the client shares the machine's cores with the service: its CPU time per request is reported with the figures
    return {**_stats(latencies, n_requests * batch, seconds),
            "client_cpu_ms_per_request": round((time.process_time() - cpu) / n_requests * 1000, 2)}


async def _batch_counters(client: httpx.AsyncClient) -> tuple[float, float]:
    """(answers, batches) so far, from the service's Prometheus metrics."""
    total = count = 0.0
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith("nps_microbatch_size_sum"):
            total = float(line.split()[-1])
        elif line.startswith("nps_microbatch_size_count"):
            count = float(line.split()[-1])
    return total, count


async def _measure(client: httpx.AsyncClient, texts: list[str], concurrency: int, n_requests: int,
                   batch: int = 1) -> dict[str, Any]:
    before = await _batch_counters(client)
    stats = await _run_level(client, texts, concurrency, n_requests, batch)
    after = await _batch_counters(client)
    batches = after[1] - before[1]
    stats["mean_microbatch"] = round((after[0] - before[0]) / batches, 1) if batches else None
    return stats


async def _service_figures(url: str, key: str | None, texts: list[str], args: argparse.Namespace,
                           encoder: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=max(args.levels) + 4, max_keepalive_connections=max(args.levels) + 4)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300, limits=limits) as client:
        await _run_level(client, texts, 4, 32)  # warm-up: connections, threads, the encoder's first batches
        out: dict[str, Any] = {"single": {}}
        for level in args.levels:
            out["single"][str(level)] = stats = await _measure(client, texts, level, args.requests)
            print(f"single answer, {level:>2} clients: {stats}", flush=True)
        # batched classify and the bare encoder take turns on the same texts, so a change in the machine's load
        # hits both figures alike; the service is idle while the encoder runs
        service_s = encoder_s = 0.0
        per_round = args.batch_size * args.batch_requests
        for r in range(args.rounds):
            stats = await _measure(client, texts, 1, args.batch_requests, batch=args.batch_size)
            service_s += stats["seconds"]
            encoder_s += await asyncio.to_thread(_encode_seconds, encoder, texts, 0, per_round)
            print(f"round {r + 1}: batched classify {per_round / stats['seconds']:.1f} answers/s, "
                  f"bare encoder {per_round * (r + 1) / encoder_s:.1f} answers/s (cumulative)", flush=True)
        n = per_round * args.rounds
        out["batched"] = {**stats, "answers": n, "seconds": round(service_s, 2), "answers_per_s": round(n / service_s, 1)}
        out["encoder"] = {"answers": n, "seconds": round(encoder_s, 2), "answers_per_s": round(n / encoder_s, 1)}
        print(f"batched ({args.batch_size}/request): {out['batched']}", flush=True)
    return out


def _encode_seconds(encoder: Any, texts: list[str], start: int, n: int) -> float:
    """Seconds the bare encoder takes for ``n`` answers from ``start`` (the texts batched classify sends)."""
    sample = [texts[(start + j) % len(texts)] for j in range(n)]
    started = time.perf_counter()
    for i in range(0, n, 64):
        encoder.encode(sample[i:i + 64])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--key", help="API key for --url (scope classify)")
    parser.add_argument("--requests", type=int, default=300, help="single-answer requests per concurrency level")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batch-requests", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="turns of batched classify and bare encoder")
    parser.add_argument("--backend", choices=["torch", "onnx", "onnx-int8"], default=None,
                        help="NPS_ENCODER_BACKEND of the started service (default: the environment's)")
    parser.add_argument("--workers", type=int, help="NPS_MICROBATCH_WORKERS of the started service")
    parser.add_argument("--threads", type=int, help="NPS_ENCODER_THREADS of the started service (ONNX Runtime and "
                        "torch threads)")
    parser.add_argument("--max-size", type=int, help="NPS_MICROBATCH_MAX_SIZE of the started service")
    parser.add_argument("--wait-ms", type=float, help="NPS_MICROBATCH_WAIT_MS of the started service")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args()
    texts = _texts()
    load_before = os.getloadavg()
    from nps_nlp._settings import get_settings
    from nps_nlp.encoders import load_encoder

    args.backend = args.backend or get_settings().encoder_backend
    encoder = load_encoder(backend="torch")
    encoder.encode(texts[:64])
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.url:
                url = args.url.rstrip("/")
            else:
                print("starting nps-nlp serve ...", flush=True)
                proc, url = _start_service(Path(tmp), args.backend, {
                    "NPS_MICROBATCH_WORKERS": args.workers, "NPS_ENCODER_THREADS": args.threads,
                    "NPS_MICROBATCH_MAX_SIZE": args.max_size, "NPS_MICROBATCH_WAIT_MS": args.wait_ms})
            service = asyncio.run(_service_figures(url, args.key, texts, args, encoder))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
    encoder = service.pop("encoder")
    print(f"bare encoder (batch 64): {encoder}", flush=True)
    ratio = round(service["batched"]["answers_per_s"] / encoder["answers_per_s"], 3)
    from nps_nlp.encoders._precision import resolve_precision

    result = {"cpus": os.cpu_count(), "encoder_precision": resolve_precision(), "service_backend": args.backend,
              "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
              "url": args.url or "started by the script", "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "key"},
        "service": service, "encoder": encoder, "batched_vs_encoder": ratio}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(f"\n{'job':28s} {'answers/s':>10s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}")
    for level, s in service["single"].items():
        print(f"{'single, ' + level + ' clients':28s} {s['answers_per_s']:>10} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8}")
    b = service["batched"]
    name = f"batched, {args.batch_size}/request"
    print(f"{name:28s} {b['answers_per_s']:>10} {b['p50_ms']:>8} {b['p95_ms']:>8} {b['p99_ms']:>8}")
    print(f"{'bare encoder, batch 64':28s} {encoder['answers_per_s']:>10}")
    print(f"batched classify / bare encoder: {ratio}  (goal >= 0.85); "
          f"p99 at 8 clients: {service['single'].get('8', {}).get('p99_ms')} ms (goal <= 100)")
    print(f"encoder precision on this CPU: {result['encoder_precision']} (bf16 only where the CPU computes it natively); "
          f"service backend: {args.backend}, micro-batch workers: {args.workers or 'default'}, "
          f"encoder threads: {args.threads or 'default'}, micro-batch max size: {args.max_size or 'default'}, "
          f"wait: {'default' if args.wait_ms is None else args.wait_ms} ms")
    print(f"load average (1 min) before/after: {result['loadavg_1m_before_after']} on {os.cpu_count()} CPUs "
          "(other work on the machine slows every figure)")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
