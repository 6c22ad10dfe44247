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

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
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
            raise RuntimeError(f"ray start failed ({' '.join(args)}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")

    def start(self) -> LocalRayCluster:
        """Start the head, then the worker nodes; returns self (``address`` is the head's GCS address)."""
        try:
            self._start_node(head=True)
            for _ in range(self.nodes - 1):
                self._start_node(head=False)
        except Exception:
            self.stop()
            raise
        return self

    def processes(self) -> list[Any]:
        """This cluster's processes: those whose command line names its temporary directory or its GCS address,
        and their descendants."""
        import psutil

        marks = [str(self.temp_dir)] + ([self.address] if self.address else [])
        found: dict[int, Any] = {}
        for p in psutil.process_iter(["pid", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if any(m in cmd for m in marks) and p.pid != os.getpid():
                found[p.pid] = p
                try:  # the raylets' workers and agents (workers rename themselves, e.g. ray::IDLE)
                    found.update((c.pid, c) for c in p.children(recursive=True))
                except psutil.Error:
                    pass
        found.pop(os.getpid(), None)
        return list(found.values())

    def stop(self, grace_s: float = 5.0) -> None:
        """End this cluster's processes by id (SIGTERM, then SIGKILL after ``grace_s``) and remove its directory."""
        import psutil

        procs = self.processes()
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
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
