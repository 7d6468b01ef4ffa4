"""Imports flow one way: no module of ours imports, however indirectly, one that imports it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("batoshelf", "scraping", "readers", "notifications")


def our_modules():
    """Every module of our packages (migrations aside: Django loads them by itself), by dotted name."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def import_graph(modules):
    """For each module, the modules of ours it imports (`from a import b` counts as a.b when b is a module)."""

    def ours(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(ours(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                targets.update(ours(f"{base}.{alias.name}") for alias in node.names)
        graph[name] = targets - {None, name}
    return graph


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_the_finder_sees_our_imports_and_a_cycle_made_by_one_more_edge():
    graph = import_graph(our_modules())
    assert "batoshelf.env" in graph["batoshelf.settings"]  # `from batoshelf.env import (...)`
    assert "scraping.schedule.policy" in graph["scraping.models"]  # `from scraping.schedule import policy`
    graph["scraping.schedule.policy"] = graph["scraping.schedule.policy"] | {"scraping.models"}
    assert ["scraping.models", "scraping.schedule.policy"] in cycles(graph)


def test_no_module_of_ours_is_part_of_an_import_cycle():
    modules = our_modules()
    assert {"scraping.checking.pipeline", "scraping.gate.keeper", "notifications.delivery"} <= set(modules)
    assert cycles(import_graph(modules)) == []


def test_the_pure_cores_import_nothing_of_django():
    """Parsers, the schedule policy and the gate's rules run without settings or a database."""
    pure = [
        "scraping.gate.rules",
        "scraping.schedule.policy",
        "scraping.sources.values",
        "scraping.sources.errors",
        "readers.progress",
        "readers.times",
    ]
    for name in pure:
        tree = ast.parse(our_modules()[name].read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {module for module in imported if module.split(".")[0] == "django"}, name
