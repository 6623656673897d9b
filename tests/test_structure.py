"""The harness's module structure: no import cycles, one execution path.

Imports are read from the source (``ast``), including the ones inside functions: a lazy
import that closes a cycle (``runner`` importing ``oracle`` inside a function while ``oracle``
imports ``runner``) is still a cycle in the design, only hidden from the interpreter.
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: str) -> dict:
    """{module: set of modules of ``package`` it imports (anywhere in its source)}."""
    files = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[:len(here) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                # ``from pkg import sub`` imports the submodule; ``from pkg import name`` the package
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in files else module for a in node.names]
            for t in targets:
                # the longest prefix that is a module of the package (``from . import x`` names x)
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    edges.add(t)
        graph[name] = edges
    return graph


def find_cycle(graph: dict) -> list:
    """One import cycle as a list of modules, or [] (iterative depth-first search)."""
    state = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1  # on the current path
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2  # done
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph.get(child, ())))))
                path.append(child)
    return []


def test_find_cycle_finds_one():
    """The checker itself can fail: a planted runner <-> oracle cycle is reported."""
    graph = {"h.runner": {"h.oracle", "h.execute"}, "h.oracle": {"h.execute", "h.runner"}, "h.execute": set()}
    assert find_cycle(graph) == ["h.oracle", "h.runner", "h.oracle"]
    graph["h.oracle"].discard("h.runner")
    assert find_cycle(graph) == []


@pytest.mark.parametrize("package", ["harness", "layers_theano"])
def test_no_import_cycles(package):
    graph = import_graph(package)
    assert len(graph) > 5  # the package was read
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_one_execution_module():
    """Only harness.execute compiles Theano functions and builds both sides of a pair."""
    graph = import_graph("harness")
    for module in ("harness.runner", "harness.oracle", "harness.network", "harness.bench_worker"):
        assert "harness.execute" in graph[module], module
    compiling = sorted(_module_name(p) for p in (ROOT / "harness").rglob("*.py")
                       if re.search(r"import[^\n]*\bfunction\b", p.read_text()))
    assert compiling == ["harness.execute"], compiling
