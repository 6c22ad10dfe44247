"""Layers point down: the core library imports neither the service nor training, and no modules import each other.

The import graph is read from the source with :mod:`ast` (module-level and function-level imports alike), so the
test needs none of the packages' dependencies and catches imports that only run inside a function.

Layers, from the bottom up:

* ``nps_nlp``: the core library, its command line included;
* ``training``: may import the core library;
* ``api``: may import the core library.

``training`` and ``api`` add their commands to ``nps-nlp`` through entry points (``training.cli``, ``api.cli``),
so the command line in the core library imports neither.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nps_nlp", "training", "api")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.relative_to(ROOT).parts:  # Alembic scripts are loaded by Alembic, not imported
                continue
            modules[_module_name(path)] = path
    return modules


MODULES = _modules()


def _known(name: str) -> str | None:
    """The longest prefix of a dotted name that is one of our modules, or None for a third-party import."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of one of our modules inside ``module``, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import sub` imports the submodule pkg.sub; `from pkg import name` imports pkg
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source for alias in node.names]
        else:
            continue
        for target in targets:
            known = _known(target)
            if known is not None and known != module:
                yield known, node.lineno


GRAPH: dict[str, set[str]] = {module: {target for target, _ in _imports(module)} for module in MODULES}


def _layer(module: str) -> str:
    return module.split(".")[0]


# what each layer may import besides itself
ALLOWED = {
    "nps_nlp": {"nps_nlp"},
    "training": {"nps_nlp", "training"},
    "api": {"nps_nlp", "api"},
}


def test_the_graph_sees_the_packages() -> None:
    assert "nps_nlp.classifier" in MODULES and "training.train" in MODULES and "api.main" in MODULES
    assert "nps_nlp.cli._tag" in MODULES and "api.cli._serve" in MODULES and "training.cli._train" in MODULES
    assert any(_layer(target) == "api" for target in GRAPH["api.cli._serve"])  # function-level imports count
    assert not any(_layer(target) != "nps_nlp" for module in MODULES if module.startswith("nps_nlp.cli") for target in GRAPH[module])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module: str) -> None:
    layer = _layer(module)
    upward = sorted(
        f"{module}:{line} imports {target}" for target, line in _imports(module) if _layer(target) not in ALLOWED[layer]
    )
    assert not upward, "an import points up a layer (see tests/test_layers.py):\n" + "\n".join(upward)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]
    assert _strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    cycles = _strongly_connected(GRAPH)
    described = [" <-> ".join(component) for component in cycles]
    assert not cycles, "modules import each other:\n" + "\n".join(described)
