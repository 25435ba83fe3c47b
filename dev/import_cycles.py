"""List every import cycle among wizard/ and screens/ modules, counting imports inside functions.

    .venv/bin/pip install grimp && .venv/bin/python dev/import_cycles.py

Exit 1 when there is a cycle (each printed with the importing lines), 0 when there is none.
"""

from __future__ import annotations

import sys

import grimp


def cycles(graph: grimp.ImportGraph, prefix: str = "wizard") -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(m for m in graph.modules if m.startswith(prefix))
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith(prefix)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def main() -> int:
    graph = grimp.build_graph("wizard", "screens", cache_dir=None)
    found = cycles(graph)
    for component in found:
        print("cycle:", ", ".join(component))
        for importer in component:
            for imported in component:
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    print(f"    {importer}:{detail['line_number']} imports {imported}")
    print(f"{len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
