"""The layers of docs/architecture.md hold: read from the source, so a new import breaks them here.

    wpdash/ (the project: settings, URLs, ASGI)      may import anything below
    server_monitor/web/ (API, pages, sockets, admin) never imports wpdash/
    server_monitor/workflows/ (the rules)            never imports web/ or wpdash/
    server_monitor/adapters/ (one per outside system) never imports workflows/, web/ or wpdash/,
                                                      nor another adapter
    server_monitor/{errors,names,caching}.py          shared by every layer; import no layer

- An adapter is a module or package directly under adapters/ (systemd, journal, logs,
  metrics, …). It may import its own package and the shared helpers every adapter
  builds on (SHARED_BY_ADAPTERS: child processes, the text of a log line), never
  another adapter: combining two outside systems is a workflow's work.
- The web edge (server_monitor/web/, the template tags) reads requests and presents
  answers: it never imports what runs processes, calls Netdata, samples the host or
  opens files, and never calls open().
- Adapters and workflows import nothing from DRF, Channels or drf-spectacular.
- No import cycle among the app's and the project's modules.

Only imports made when a module loads count: one inside a function is a deliberate
late import (AppConfig.ready's), and a reviewer's business.
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
ADAPTERS = "server_monitor.adapters"
SHARED = ("server_monitor.errors", "server_monitor.names", "server_monitor.caching")
SHARED_BY_ADAPTERS = ("server_monitor.adapters.process", "server_monitor.adapters.lines")
# Which packages a layer must not import (prefixes of dotted module names).
FORBIDDEN = {
    "server_monitor.web": ("wpdash",),
    "server_monitor.templatetags": ("wpdash",),
    "server_monitor.workflows": ("wpdash", "server_monitor.web", "server_monitor.templatetags"),
    ADAPTERS: ("wpdash", "server_monitor.web", "server_monitor.templatetags", "server_monitor.workflows"),
    **{shared: ("wpdash", "server_monitor.web", "server_monitor.workflows", ADAPTERS) for shared in SHARED},
}


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


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def adapter_of(name: str) -> str | None:
    """The adapter a dotted module name belongs to (server_monitor.adapters.logs for
    server_monitor.adapters.logs.tail), or None outside the adapters."""
    if not within(name, ADAPTERS) or name == ADAPTERS:
        return None
    return ".".join(name.split(".")[:3])


@pytest.mark.parametrize("path", list(modules(WEB_EDGE)), ids=name_of)
def test_the_web_edge_touches_no_outside_system(path):
    assert roots(top_level_imports(path)) & OUTSIDE_SYSTEMS == set()
    calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]
    assert not [call for call in calls if isinstance(call.func, ast.Name) and call.func.id == "open"]


@pytest.mark.parametrize("path", list(modules(BELOW_THE_EDGE)), ids=name_of)
def test_adapters_and_workflows_import_no_web_framework(path):
    assert roots(top_level_imports(path)) & WEB_FRAMEWORKS == set()


@pytest.mark.parametrize("path", list(modules()), ids=name_of)
def test_arrows_only_point_down(path):
    name = name_of(path)
    forbidden = next((rule for layer, rule in FORBIDDEN.items() if within(name, layer)), ())
    upward = sorted(target for target in top_level_imports(path) if any(within(target, f) for f in forbidden))
    assert upward == [], f"{name} imports from a layer above it"


@pytest.mark.parametrize("path", list(modules(("server_monitor/adapters",))), ids=name_of)
def test_no_adapter_calls_another(path):
    own = adapter_of(name_of(path))
    others = sorted(
        target
        for target in top_level_imports(path)
        if (theirs := adapter_of(target)) is not None
        and theirs != own
        and not any(within(target, shared) for shared in SHARED_BY_ADAPTERS)
    )
    assert others == [], f"{name_of(path)} imports another adapter: combining them is a workflow's work"


def test_the_rules_catch_what_they_are_for(tmp_path):
    """The rules above, tried on imports they must refuse (a guard against a rule that
    quietly matches nothing)."""
    assert adapter_of("server_monitor.adapters.logs.tail") == "server_monitor.adapters.logs"
    assert adapter_of("server_monitor.adapters.systemd") == "server_monitor.adapters.systemd"
    assert adapter_of("server_monitor.workflows.restart") is None
    assert any(within("wpdash.env", f) for f in FORBIDDEN[ADAPTERS])
    assert any(within("server_monitor.workflows.logs.sources", f) for f in FORBIDDEN[ADAPTERS])
    assert any(within("wpdash.env", f) for f in FORBIDDEN["server_monitor.web"])
    assert not any(within("server_monitor.adapters.process", f) for f in FORBIDDEN["server_monitor.workflows"])


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
