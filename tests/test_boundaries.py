"""The core stays UI-free and light: proven in a fresh interpreter, as Harlequin does."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import wizard

HEAVY = ["textual", "docker", "kubernetes", "httpx", "cryptography"]


def imported_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m.split('.')[0] for m, loaded in sys.modules.items() if loaded is not None)))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output))


def test_no_core_module_imports_textual() -> None:
    names = [info.name for info in pkgutil.walk_packages(wizard.__path__, "wizard.") if info.name != "wizard.__main__"]
    loaded = imported_after("\n".join(f"import {name}" for name in names))
    assert "textual" not in loaded


def test_the_cli_starts_without_heavy_modules() -> None:
    loaded = imported_after("from wizard import cli\ncli.build_parser()")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_every_verb_parses_without_loading_an_engine() -> None:
    loaded = imported_after("from wizard import cli\ncli.build_parser().parse_args(['apply', 'x', '--yes'])")
    assert "asyncio" not in loaded and "pydantic" not in loaded, loaded & {"asyncio", "pydantic"}


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    """The layers and the forbidden imports in pyproject.toml, checked by import-linter."""
    probe = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert ", 0 broken." in done.stdout.split("Contracts: ")[-1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
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
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    found.append(sorted(component))
    return found


def test_no_module_import_cycle_counting_imports_inside_functions() -> None:
    import grimp

    graph = grimp.build_graph("wizard", "screens", cache_dir=None)
    edges = {
        module: {imported for imported in graph.find_modules_directly_imported_by(module)}
        for module in graph.modules
    }
    # A package's __init__ re-exporting its own submodules is not a cycle of meaning.
    for module, imported in edges.items():
        edges[module] = {other for other in imported if not other.startswith(module + ".")}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
