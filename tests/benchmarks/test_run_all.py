"""benchmarks/run_all.py and benchmarks/ray_cluster.py in parts: the machine description, the goals, the projection,
and RESULTS.md's sentence on the machine (the full runs are benchmarks, not tests)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni
processor\t: 1
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni
"""


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_info_reads_model_and_speed_flags() -> None:
    run_all = _load("run_all")
    info = run_all.cpu_info(CPUINFO)
    assert info["cpu_model"] == "AMD EPYC 9B14" and info["native_bf16"] and info["vnni"]
    assert info["flags"]["avx512_bf16"] and not info["flags"]["amx_bf16"]
    plain = run_all.cpu_info("model name\t: Old Xeon\nflags\t\t: sse2 avx2\n")
    assert (plain["native_bf16"], plain["vnni"]) == (False, False)


def test_machine_description_has_what_results_need() -> None:
    machine = _load("run_all").machine_description()
    assert machine["logical_cores"] >= 1 and len(machine["load_avg"]) == 3
    assert isinstance(machine["native_bf16"], bool) and isinstance(machine["vnni"], bool)
    assert machine["versions"]["nps_nlp"]


def test_goals_compare_each_measured_figure() -> None:
    run_all = _load("run_all")
    stages = {"paired": {"tag_vs_reference": 2.6, "analyze_vs_reference": 1.7},
              "tagging": {"model": {"peak_rss_mb": 1100}, "stream": [{"peak_rss_mb": 300}, {"peak_rss_mb": 1300}]},
              "service": {"single": {"8": {"p99_ms": 55.0}}, "batched_vs_encoder": 1.5}}
    goals = run_all.goals(stages)
    assert {k: g["met"] for k, g in goals.items()} == {
        "tag_vs_reference": True, "analyze_vs_reference": False, "tag_peak_rss_mb": False,
        "service_p99_ms_8_clients": True, "service_batched_vs_encoder": False}
    assert goals["tag_peak_rss_mb"]["value"] == 1300
    assert run_all.goals({}) == {}  # nothing measured, nothing claimed


def test_projection_for_ten_million_answers() -> None:
    ray_cluster = _load("ray_cluster")
    nodes = [{"rows_per_s": 100.0}, {"rows_per_s": 60.0}]
    projected = ray_cluster.projection(nodes, counts=(1, 4))
    # the mean node tags 80 rows/s: 10M rows take 125,000 s on one node and a quarter of that on four
    assert projected == [{"nodes": 1, "hours": 34.72, "seconds": 125000.0},
                         {"nodes": 4, "hours": 8.68, "seconds": 31250.0}]


def test_results_page_describes_the_machine(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    machine = {"cpu_model": "AMD EPYC 9B14", "logical_cores": 2, "usable_cores": 2, "memory_gb": 7.8,
               "native_bf16": True, "vnni": False, "cpu_flags": ["avx2", "avx512_bf16"], "encoder_precision": "bf16",
               "load_avg": [1.5, 2.0, 2.5], "load_avg_after": [3.0, 2.1, 2.4]}
    (results / "run_all.json").write_text(json.dumps({"mode": "full", "machine": machine,
                                                      "paired": {"tag_vs_reference": 1.9}}))
    page = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, str(BENCH / "make_results.py"), "--results", str(results), "--output",
                           str(page)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = page.read_text()
    assert ("Machine: AMD EPYC 9B14, 2 cores, 7.8 GB; native bfloat16: yes, VNNI: no (flags: avx2 avx512_bf16); "
            "encoder precision bf16; load average (1, 5, 15 min) 1.5 / 2.0 / 2.5 before, 3.0 / 2.1 / 2.4 after.") in text
    assert "| paired.tag_vs_reference | 1.9 |" in text and "cpu_model" not in text
