"""A large schemathesis run over every operation of the service, on SQLite and PostgreSQL: no 5xx allowed.

Runs ``tests/api/test_api_fuzz.py`` (the bounded run that CI does with 20 examples per operation and mode) with
more examples, and writes the requests per database and status, the 5xx count and the time taken to
``benchmarks/results/fuzz.json``. PostgreSQL is used when a server answers on localhost (see tests/api/conftest.py);
otherwise only SQLite is run and the file says so. Run from the repo root:

    python benchmarks/fuzz.py                    # 110 examples per operation and mode: over 10,000 requests per database
    python benchmarks/fuzz.py --examples 50      # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=110, help="examples per operation and generation mode")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {**os.environ, "NPS_FUZZ_EXAMPLES": str(args.examples), "NPS_FUZZ_REPORT": str(report)}
        start, load = time.monotonic(), os.getloadavg()[0]
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/api/test_api_fuzz.py", "-q", "-p", "no:randomly",
                               "-rs"], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        if not report.is_file():
            print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
            print("the fuzz run wrote no report (see the pytest output above)")
            return 1
        data = json.loads(report.read_text(encoding="utf-8"))
    per_db = {db: {"requests": sum(counts.values()),
                   "server_errors_5xx": sum(n for status, n in counts.items() if int(status) >= 500),
                   "by_status": counts} for db, counts in data["statuses"].items()}
    result = {"what": "schemathesis positive and negative cases over every operation of the OpenAPI document, "
                      "against a uvicorn server with the keyword stand-in pipeline (tests/api/api_fakes.py)",
              "examples_per_operation_and_mode": data["examples_per_operation_and_mode"],
              "databases": per_db, "postgresql_skipped": "postgresql" not in per_db,
              "seconds": round(seconds, 1), "cpus": os.cpu_count(), "load_average_1m_at_start": round(load, 2),
              "pytest_exit_code": proc.returncode, "pytest_summary": proc.stdout.strip().splitlines()[-1:]}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for db, figures in per_db.items():
        print(f"{db}: {figures['requests']} requests, {figures['server_errors_5xx']} with 5xx, {figures['by_status']}")
    print(f"{seconds:.0f} s; written to {args.out}")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
