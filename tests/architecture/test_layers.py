"""The layers of docs/architecture.md hold: read from the source, so a new import breaks them here.

- The web edge (server_monitor/web/, the template tags) reads requests and presents
  answers: it never imports what runs processes, calls Netdata, samples the host or
  opens files, and never calls open().
- Adapters and workflows import nothing from DRF, Channels or drf-spectacular.
- No import cycle among the app's and the project's modules.
- No module of the app, the project, the benchmarks or the test support passes 400
  lines. (Test modules may: the seed contract walks its documents line by line.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import REPO

PACKAGES = ("server_monitor", "wpdash")
WEB_EDGE = ("server_monitor/web", "server_monitor/templatetags")
BELOW_THE_EDGE = ("server_monitor/adapters", "server_monitor/workflows", "server_monitor/errors.py")
OUTSIDE_SYSTEMS = {"subprocess", "requests", "psutil", "os", "pathlib", "shutil", "socket", "urllib3"}
WEB_FRAMEWORKS = {"rest_framework", "channels", "drf_spectacular", "daphne"}
MAX_LINES = 400


def modules(under: tuple[str, ...] = PACKAGES) -> Iterator[Path]:
    for folder in under:
        path = REPO / folder
        files = [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
        yield from (file for file in files if "migrations" not in file.parts)


def name_of(path: Path) -> str:
    dotted = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return dotted.removesuffix(".__init__")


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when the module loads (not inside functions: those are
    deliberate late imports, such as AppConfig.ready's)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def roots(imported: set[str]) -> set[str]:
    return {name.split(".")[0] for name in imported}


@pytest.mark.parametrize("path", list(modules(WEB_EDGE)), ids=name_of)
def test_the_web_edge_touches_no_outside_system(path):
    assert roots(top_level_imports(path)) & OUTSIDE_SYSTEMS == set()
    calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]
    assert not [call for call in calls if isinstance(call.func, ast.Name) and call.func.id == "open"]


@pytest.mark.parametrize("path", list(modules(BELOW_THE_EDGE)), ids=name_of)
def test_adapters_and_workflows_import_no_web_framework(path):
    assert roots(top_level_imports(path)) & WEB_FRAMEWORKS == set()


def test_there_is_no_import_cycle():
    ours = {name_of(path): path for path in modules()}
    graph = {
        name: {target for target in top_level_imports(path) if target in ours and target != name}
        for name, path in ours.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            raise AssertionError(" → ".join([*trail[trail.index(name) :], name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("path", [*modules(), *modules(("bench", "tests/support"))], ids=name_of)
def test_no_module_passes_400_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
