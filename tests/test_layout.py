"""The package's layout: its import graph has no cycles (no module imports, at the top or
inside a function, a module that imports it back, directly or through others), and every
agent implements the whole agent interface."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "async_deeprl"


def _modules():
    """{dotted module name: path} of every module of the package."""
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, PACKAGE)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


def import_graph():
    """{module: set of package modules it imports anywhere in its file}."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_hand_made_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert "async_deeprl.runner" in graph and "async_deeprl.agents.base" in graph
    assert "async_deeprl.agents" in graph["async_deeprl.config"]  # the graph sees imports
    assert cycles(graph) == []


def test_the_core_never_imports_the_command_line_tools():
    """bench, ceiling, plot and export live in async_deeprl.commands; the core (agents,
    training, environments) imports none of them, and nothing in the package imports tests/."""
    graph = import_graph()
    assert "async_deeprl.commands.env_timing" in graph["async_deeprl.commands.bench"]
    for entry in ENTRY_MODULES:  # each entry module forwards to its command
        assert f"async_deeprl.commands.{entry.rsplit('.', 1)[1]}" in graph[entry]
    core = [name for name in graph if not name.startswith("async_deeprl.commands")
            and name not in ENTRY_MODULES]
    assert "async_deeprl.runner" in core
    for name in core:
        reached = {t for t in graph[name] if t.startswith("async_deeprl.commands")}
        assert not reached, f"{name} imports {sorted(reached)}"
    for name, path in _modules().items():
        assert "from tests" not in open(path).read() and "import tests" not in open(path).read()


# Two-line modules that keep `python -m async_deeprl.bench` etc. working.
ENTRY_MODULES = {f"async_deeprl.{name}" for name in ("bench", "ceiling", "plot", "export")}


def test_every_agent_implements_the_interface_and_a_partial_one_cannot_be_built():
    from async_deeprl import agents
    from async_deeprl.agents import interface

    for name in agents.NAMES:
        agent_class = agents.get(name)
        assert issubclass(agent_class, interface.Agent) and not agent_class.__abstractmethods__
        assert agent_class.name == name

    members = {name: (lambda *args: None) for name in interface.Agent.__abstractmethods__
               if name != "player"}
    without_player = type("WithoutPlayer", (interface.Agent,), members)
    with pytest.raises(TypeError, match="player"):
        without_player()


if __name__ == "__main__":
    for component in cycles(import_graph()):
        print(" <-> ".join(component))
