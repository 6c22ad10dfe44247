"""`nps-nlp tag --engine ray` on a multi-node Ray cluster: rows/s per node and the projected time for 10 million answers.

    python benchmarks/ray_cluster.py [--nodes 3] [--cpus-per-node 1] [--rows 2000] [--address ADDR]

Without ``--address`` it starts a real multi-node cluster on this machine (a head and ``--nodes - 1`` worker
nodes, each started with ``ray start`` and its own ports and temporary directory, stopped again by process id
at the end, never with a bare ``ray stop``, which would stop every Ray on the machine). The Ray engine tags
``--rows`` synthetic answers (the seed answers sampled, as benchmarks/tagging.py builds them) with the shipped
model, sent to the workers through the object store, and reports, per node, the rows its actors tagged and
their rows per second of tagging (model loading excluded), then projects the time for 10 million answers on N
nodes of that speed. Writes benchmarks/results/ray_cluster.json with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKDIR = Path("/tmp/nps-nlp-bench")
PROJECTED_ROWS = 10_000_000
# a cluster for one job on this machine, bound to 127.0.0.1: no usage reports, and no token authentication
# (a head started with a token in ~/.ray would refuse the worker nodes and the driver, which start without one)
CLUSTER_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
PROJECTED_NODES = (1, 2, 4, 8, 16, 32)
# ports every node binds; on one machine each node needs its own
_NODE_PORTS = ("--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
               "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port")


def _free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that are free at the moment of the call."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class LocalRayCluster:
    """A head and worker nodes started with ``ray start`` on this machine, each with its own ports.

    Args:
        nodes: nodes in all (the head included).
        cpus_per_node: ``--num-cpus`` of each node.
        ray: the ``ray`` command (default: the one next to this Python).
        object_store_mb: object store size of each node.

    Use as a context manager; leaving it stops exactly the processes of this cluster (found by its temporary
    directory in their command lines, ended by process id), so other Ray instances on the machine are left alone.
    """

    def __init__(self, nodes: int = 3, cpus_per_node: int = 1, ray: str | None = None, object_store_mb: int = 100) -> None:
        self.nodes, self.cpus_per_node, self.object_store_mb = nodes, cpus_per_node, object_store_mb
        self.ray = ray or str(Path(sys.executable).with_name("ray"))
        self.temp_dir = Path(tempfile.mkdtemp(prefix="nrc-", dir="/tmp"))  # short: Ray's socket paths have a limit
        self.address = ""

    def _start_node(self, head: bool) -> None:
        """Start one node; raises RuntimeError (after ending what it started) when ``ray start`` fails."""
        ports = _free_ports(len(_NODE_PORTS) + 4)
        args = [self.ray, "start", f"--num-cpus={self.cpus_per_node}", "--num-gpus=0", "--disable-usage-stats",
                f"--object-store-memory={self.object_store_mb * 2**20}", "--node-ip-address=127.0.0.1"]
        args += [f"{flag}={port}" for flag, port in zip(_NODE_PORTS, ports, strict=False)]
        worker_low = 20000 + (ports[-1] % 200) * 200
        args += [f"--min-worker-port={worker_low}", f"--max-worker-port={worker_low + 199}"]
        if head:
            self.address = f"127.0.0.1:{ports[-2]}"
            args += ["--head", f"--port={ports[-2]}", "--include-dashboard=false", f"--dashboard-port={ports[-3]}",
                     f"--temp-dir={self.temp_dir}"]
        else:
            args += [f"--address={self.address}"]
        env = {**os.environ, **CLUSTER_ENV}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=180)
        if proc.returncode:
            # e.g. a raylet that did not register within Ray's fixed 30 s on a loaded machine: end that node's
            # processes (its raylet names its node manager port) so that a retry starts clean
            _end(self.processes() if head else self.processes([f"--node_manager_port={ports[0]}"]))
            raise RuntimeError(f"ray start failed ({' '.join(args)}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")

    def start(self, attempts: int = 3) -> LocalRayCluster:
        """Start the head, then the worker nodes (each up to ``attempts`` times); returns self (``address`` is the
        head's GCS address)."""
        try:
            for i in range(self.nodes):
                for attempt in range(attempts):
                    try:
                        self._start_node(head=i == 0)
                        break
                    except RuntimeError:
                        if attempt == attempts - 1:
                            raise
        except Exception:
            self.stop()
            raise
        return self

    def processes(self, marks: list[str] | None = None) -> list[Any]:
        """This cluster's processes (or those whose command line holds one of ``marks``) and their descendants.

        The cluster's are those whose command line names its temporary directory or its GCS address."""
        import psutil

        marks = marks or [str(self.temp_dir)] + ([self.address] if self.address else [])
        found: dict[int, Any] = {}
        for p in psutil.process_iter(["pid", "cmdline"]):
            try:
                cmd = " ".join(p.info["cmdline"] or [])
                if any(m in cmd for m in marks):
                    found[p.pid] = p
                    # the raylets' workers and agents (workers rename themselves, e.g. ray::IDLE)
                    found.update((c.pid, c) for c in p.children(recursive=True))
            except psutil.Error:
                pass
        found.pop(os.getpid(), None)
        return list(found.values())

    def stop(self) -> None:
        """End this cluster's processes by id and remove its temporary directory."""
        _end(self.processes())
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _end(procs: list[Any], grace_s: float = 5.0) -> None:
    """SIGTERM each process, then SIGKILL those still running after ``grace_s``."""
    import psutil

    for p in procs:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace_s)


def projection(nodes: list[dict[str, Any]], rows: int = PROJECTED_ROWS,
               counts: tuple[int, ...] = PROJECTED_NODES) -> list[dict[str, Any]]:
    """The time for ``rows`` answers on N nodes as fast as the measured nodes' mean (rows/s while tagging)."""
    rates = [n["rows_per_s"] for n in nodes if n["rows_per_s"] > 0]
    if not rates:
        return []
    per_node = sum(rates) / len(rates)
    return [{"nodes": c, "hours": round(rows / (per_node * c) / 3600, 2), "seconds": round(rows / (per_node * c), 1)}
            for c in counts]


def _tag(args: argparse.Namespace, address: str, path: Path) -> dict[str, Any]:
    """One Ray job on the cluster at ``address``; its report as a dict."""
    from nps_nlp.batch import ColumnMap
    from nps_nlp.batch._ray import tag_file_ray

    out = WORKDIR / f"ray-cluster-{args.rows}.parquet"
    report = tag_file_ray(path, out, model=args.model, columns=ColumnMap(segments={"team": "team"}), address=address,
                          workers=args.workers, cpus_per_worker=args.cpus_per_worker, chunk_size=args.chunk_size,
                          overwrite=True, ship_model=True)
    shutil.rmtree(out, ignore_errors=True)
    return report.to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, help="nodes of the cluster started here (head included)")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--address", help="an existing cluster instead of starting one (its nodes read the input in "
                        f"{WORKDIR})")
    parser.add_argument("--rows", type=int, default=2000, help="synthetic answers to tag")
    parser.add_argument("--workers", type=int, default=0, help="actors (0: as many as the cluster's CPUs hold)")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "ray_cluster.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tagging
    from run_all import machine_description

    machine = machine_description()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    path = tagging.build_input(WORKDIR / f"synthetic-{args.rows}.csv", args.rows)
    os.environ.update(CLUSTER_ENV)
    t0 = time.perf_counter()
    if args.address:
        report = _tag(args, args.address, path)
        cluster = {"address": "given", "start_s": 0.0}
    else:
        with LocalRayCluster(args.nodes, args.cpus_per_node) as local:
            cluster = {"nodes": args.nodes, "cpus_per_node": args.cpus_per_node,
                       "start_s": round(time.perf_counter() - t0, 1)}
            report = _tag(args, local.address, path)
    machine["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    nodes = report["nodes"]
    result = {"machine": machine, "cluster": cluster, "rows": report["rows"], "workers": report["workers"],
              "chunk_size": args.chunk_size, "job_seconds": report["seconds"], "job_rows_per_s": report["rows_per_s"],
              "note": "job figures include starting the actors and loading the model in each; per-node rows/s count "
                      "tagging only (the steady rate the projection uses)",
              "nodes": nodes, "mean_node_rows_per_s": round(sum(n["rows_per_s"] for n in nodes) / max(len(nodes), 1), 2),
              "projected_10m": projection(nodes)}
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    for n in nodes:
        print(f"node {n['node_id'][:12]}: {n['actors']} actor(s), {n['rows']:,} rows, {n['rows_per_s']} rows/s")
    for p in result["projected_10m"]:
        print(f"10M answers on {p['nodes']:>2} node(s): {p['hours']} h")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
