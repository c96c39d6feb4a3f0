"""The package's shape: no import cycles, and each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seemrepro

PACKAGE = Path(seemrepro.__file__).parent

# layer -> subpackages/modules it may import from (besides itself)
ALLOWED = {
    "runtime": set(),
    "seeds": set(),
    "core": {"runtime"},
    "rl": {"core", "runtime", "seeds"},
    "datasets": {"rl", "core", "runtime", "seeds"},
    "engine": {"datasets", "rl", "core", "runtime", "seeds"},
    "experiments": {"engine", "datasets", "rl", "core", "runtime", "seeds"},
    "plots": {"engine", "datasets", "rl", "core", "runtime", "seeds"},
    "tools": {"experiments", "engine", "datasets", "rl", "core", "runtime", "seeds", "plots"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Every package module ``path`` imports anywhere (lazy and type-checking imports too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(path, name, set(mods)) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


@pytest.mark.parametrize("source_layer", sorted(ALLOWED))
def test_layers_import_only_downwards(source_layer: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items() if layer(name) == source_layer
        for target in targets
        if layer(target) not in (None, source_layer) and layer(target) not in ALLOWED[source_layer])
    assert not wrong, wrong


def test_public_api_stays_where_users_import_it() -> None:
    from seemrepro.critics import CriticConfig, make_critic
    from seemrepro.engine import RunConfig, load_frame, train
    from seemrepro.ntk import gram
    from seemrepro.seem import seem

    assert callable(seem) and callable(gram) and callable(make_critic) and callable(train)
    assert callable(load_frame) and CriticConfig().norm == "none" and RunConfig
