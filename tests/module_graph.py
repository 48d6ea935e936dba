"""Read service/'s import graph from the source: every import, lazy ones too, at run time.

``python -m tests.module_graph`` prints the modules, their imports, the cycles and the
longest import chain; ``tests/test_layering.py`` holds the layering to it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Return service's modules by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((root / "service").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(tree: ast.Module):
    """Yield the import statements run at some point: not those only for a type checker."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Return each module's imports of other modules of service."""
    known = modules(root)
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            edges[name] |= {t for t in targets if t in known and t != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the groups of modules that import each other, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def longest_chain(edges: dict[str, set[str]]) -> list[str]:
    """Return the longest chain of imports that visits no module twice."""
    best: list[str] = []

    def walk(path: list[str]) -> None:
        nonlocal best
        if len(path) > len(best):
            best = list(path)
        for other in sorted(edges[path[-1]]):
            if other not in path:
                path.append(other)
                walk(path)
                path.pop()

    if not cycles(edges):
        depth: dict[str, list[str]] = {}

        def deepest(node: str) -> list[str]:
            if node not in depth:
                tails = [deepest(other) for other in edges[node]]
                depth[node] = [node, *max(tails, key=len, default=[])]
            return depth[node]

        return max((deepest(node) for node in edges), key=len)
    for node in sorted(edges):
        walk([node])
    return best


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    edges = graph(root)
    for name in sorted(edges):
        print(f"{name} -> {', '.join(sorted(edges[name])) or '-'}")
    found = cycles(edges)
    chain = longest_chain(edges)
    print(f"\n{len(edges)} modules, {sum(map(len, edges.values()))} imports")
    print(f"cycles: {len(found)}" + "".join(f"\n  {' <-> '.join(group)}" for group in found))
    print(f"longest import chain: {len(chain)} modules: {' -> '.join(chain)}")


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
