"""The import contract ARCHITECTURE.md promises, checked on the source with ``ast``.

The rules live here, once: ``LAYERS`` (top to bottom), the sandbox beside the harness, and the
third-party packages only a few modules may import. Every import counts, also one inside a
function or under ``TYPE_CHECKING``: each is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
import graphlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "stet_conformance"
# Top to bottom. A module imports its own package and the packages of lower layers; packages on
# one layer do not import each other. ``__init__`` is the package root (``__version__``).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("plugin", "selftest"),
    ("report", "onboarding", "fuzz"),
    ("scenario",),
    ("checks",),
    ("http",),
    ("config",),
    ("verdict",),
    ("errors", "shared", "suggest", "__init__"),
)
# The reference sandbox stands beside the harness: it imports only shared/, and only the
# commands and the pytest plugin start it.
SANDBOX = "sandbox"
SANDBOX_IMPORTS = ("shared",)
SANDBOX_IMPORTERS = ("cli", "plugin")
# Third-party packages only these modules (dotted names under the package) may import.
ONLY_IMPORTED_BY = {
    "pytest": ("cli", "plugin", "fuzz"),
    "_pytest": ("cli", "plugin", "fuzz"),
    "allure": ("report.allure",),
}

Graph = dict[str, set[str]]


def read_sources(root: Path = ROOT / "src" / PACKAGE) -> dict[str, str]:
    """Source text by path relative to ``src/`` (``stet_conformance/cli/run.py``)."""
    return {
        path.relative_to(root.parent).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.py"))
    }


def _module(path: str) -> tuple[str, bool]:
    """(dotted module name, is a package) of a source path."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _targets(node: ast.AST, module: str, package: bool, modules: set[str]) -> Iterator[str]:
    """The modules one import statement names (``from a import b``: ``a.b`` if a module)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolved against the importing module's package
            parts = module.split(".") if package else module.split(".")[:-1]
            base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [base])])
        for alias in node.names:
            full = f"{base}.{alias.name}"
            yield full if full in modules else base


def import_graph(sources: Mapping[str, str]) -> Graph:
    """Every module's imports (internal and third-party), as dotted names."""
    names = {path: _module(path) for path in sources}
    modules = {module for module, _ in names.values()}
    graph: Graph = {}
    for path, text in sources.items():
        module, package = names[path]
        graph[module] = {
            target
            for node in ast.walk(ast.parse(text, path))
            for target in _targets(node, module, package, modules)
            if target != module
        }
    return graph


def _internal(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _unit(name: str) -> str:
    """The top-level package or module a dotted name belongs to (``cli``, ``errors``)."""
    return "__init__" if name == PACKAGE else name.split(".")[1]


def _layer_rule(source: str, target: str) -> str | None:
    """Why ``source`` may not import ``target`` (units), or None."""
    rank = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}
    if source == target:
        return None
    if source == SANDBOX:
        return None if target in SANDBOX_IMPORTS else "the sandbox imports only shared/"
    if target == SANDBOX:
        return None if source in SANDBOX_IMPORTERS else "only cli/ and plugin/ start the sandbox"
    missing = [unit for unit in (source, target) if unit not in rank]
    if missing:
        return f"{missing[0]} is on no layer of the import contract"
    if rank[target] == rank[source]:
        return f"{source} and {target} are on the same layer"
    return f"{target} is on a higher layer than {source}" if rank[target] < rank[source] else None


def layer_violations(graph: Graph) -> list[str]:
    """Imports that break ``LAYERS`` or the sandbox's separation."""
    problems = []
    for module, targets in sorted(graph.items()):
        for target in sorted(filter(_internal, targets)):
            reason = _layer_rule(_unit(module), _unit(target))
            if reason:
                problems.append(f"{module} imports {target}: {reason}")
    return problems


def restricted_imports(graph: Graph) -> list[str]:
    """Imports of a third-party package outside the modules ``ONLY_IMPORTED_BY`` allows."""
    problems = []
    for module, targets in sorted(graph.items()):
        relative = module.removeprefix(PACKAGE + ".")
        for top in sorted({target.split(".")[0] for target in targets} & ONLY_IMPORTED_BY.keys()):
            allowed = ONLY_IMPORTED_BY[top]
            if not any(relative == a or relative.startswith(a + ".") for a in allowed):
                problems.append(f"{module} imports {top}: only {', '.join(allowed)} may")
    return problems


def import_cycle(graph: Graph) -> list[str]:
    """One circle of imports between modules, first module repeated at the end; [] if none."""
    internal = {module: set(filter(_internal, targets)) for module, targets in graph.items()}
    try:
        graphlib.TopologicalSorter(internal).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


SOURCES = read_sources()
GRAPH = import_graph(SOURCES)


def test_every_import_goes_down_the_layers() -> None:
    assert layer_violations(GRAPH) == []


def test_no_import_circle() -> None:
    assert import_cycle(GRAPH) == []


def test_pytest_and_allure_stay_where_the_architecture_says() -> None:
    assert restricted_imports(GRAPH) == []


def test_every_package_is_on_a_layer() -> None:
    units = {_unit(module) for module in GRAPH}
    placed = {unit for layer in LAYERS for unit in layer} | {SANDBOX}
    assert units == placed


def _with(additions: Mapping[str, str]) -> Graph:
    """The real sources, each named file with one more line (a synthetic change)."""
    sources = dict(SOURCES)
    for path, line in additions.items():
        sources[f"{PACKAGE}/{path}"] += f"\n{line}\n"
    return import_graph(sources)


@pytest.mark.parametrize(
    ("path", "line", "expected"),
    [
        (
            "config/profile.py",
            "from stet_conformance.cli.common import EXIT_OK",
            "stet_conformance.config.profile imports stet_conformance.cli.common: "
            "cli is on a higher layer than config",
        ),
        (
            "report/coverage.py",
            "def later() -> None:\n    from stet_conformance.onboarding import banks",
            "stet_conformance.report.coverage imports stet_conformance.onboarding.banks: "
            "report and onboarding are on the same layer",
        ),
        (
            "checks/status.py",
            "from ..scenario import model",
            "stet_conformance.checks.status imports stet_conformance.scenario.model: "
            "scenario is on a higher layer than checks",
        ),
        (
            "sandbox/app.py",
            "from stet_conformance.errors import UsageError",
            "stet_conformance.sandbox.app imports stet_conformance.errors: "
            "the sandbox imports only shared/",
        ),
        (
            "http/client.py",
            "import stet_conformance.sandbox.faults",
            "stet_conformance.http.client imports stet_conformance.sandbox.faults: "
            "only cli/ and plugin/ start the sandbox",
        ),
    ],
    ids=["upward", "same-layer", "relative", "sandbox-imports-harness", "harness-imports-sandbox"],
)
def test_a_forbidden_import_is_reported(path: str, line: str, expected: str) -> None:
    assert layer_violations(_with({path: line})) == [expected]


def test_pytest_in_the_runner_is_reported() -> None:
    problems = restricted_imports(_with({"scenario/runner.py": "import pytest"}))
    expected = "stet_conformance.scenario.runner imports pytest: only cli, plugin, fuzz may"
    assert problems == [expected]


def test_an_import_circle_is_reported() -> None:
    graph = _with(
        {
            "shared/dates.py": "from stet_conformance.shared import cavage",
            "shared/cavage.py": "if False:\n    import stet_conformance.shared.dates",
        }
    )
    cycle = import_cycle(graph)
    assert set(cycle) == {"stet_conformance.shared.dates", "stet_conformance.shared.cavage"}
    assert cycle[0] == cycle[-1]


def test_architecture_md_states_these_layers() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    match = re.search(r"^Layers, top to bottom\b.*?:(.+?)(?:\n\n)", text, re.MULTILINE | re.DOTALL)
    assert match, "ARCHITECTURE.md has no 'Layers, top to bottom ...:' paragraph"
    stated = tuple(tuple(re.findall(r"`(\w+)`", group)) for group in match.group(1).split(">"))
    assert stated == LAYERS
