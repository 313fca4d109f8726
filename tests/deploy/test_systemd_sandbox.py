"""The unit's file-system sandbox, rebuilt with mounts, still lets sudo restart and the app start.

systemd is not PID 1 where the tests run, so the unit cannot be started. What can
be run for real is its confinement: tests/support/namespace.py remounts the whole tree
read-only and non-executable (ProtectSystem=strict, NoExecPaths=/), re-allows
exactly the unit's ExecPaths= and ReadWritePaths=, and then runs sudo, systemctl
(a stand-in) and the dashboard's own start-up commands inside it.

Two additions are made for this machine only, and said where they are made: the
directory of the Python running the tests (production uses /usr/bin/python3.X,
which the unit lists), and /bin/sh, which the systemctl stand-in is written in.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
from pathlib import Path

import pytest

from server_monitor.adapters import apt
from tests.support import namespace
from tests.support.deployment import SUDO, SYSTEMCTL, service_user_with_sudoers, values

REPO = Path(__file__).resolve().parents[2]


def unit_paths(key: str, replacements: dict[str, str], unit: str = "wpdash.service") -> list[str]:
    """The unit's paths for key, mapped onto this machine; missing "-" paths dropped."""
    paths = []
    for value in values(unit, key):
        for word in value.split():
            optional = word.startswith("-")
            path = word.lstrip("-")
            for production, here in replacements.items():
                if path == production or path.startswith(production + "/"):
                    path = here + path[len(production) :]
            if optional and not os.path.exists(path):
                continue
            paths.append(os.path.realpath(path))  # systemd follows symlinks too
    return paths


@pytest.fixture(params=["wpdash.service"])
def sandboxed(request, tmp_path):
    """Runs commands inside the rebuilt sandbox of a unit (wpdash.service unless a test
    asks for another with indirect parametrization); returns one result per command."""
    unit = request.param
    data = tmp_path / "var-lib-wpdash"
    data.mkdir()
    user = service_user_with_sudoers(tmp_path, ["nginx"])
    program = data / "dropped"
    shutil.copy2("/usr/bin/true", program)

    replacements = {"/opt/wpdash/.venv": os.path.realpath(REPO / ".venv"), "/var/lib/wpdash": str(data)}
    exec_paths = unit_paths("ExecPaths", replacements, unit)
    exec_paths.append(os.path.realpath(sys.base_prefix))  # this machine's Python (see the module docstring)
    exec_paths.append(os.path.realpath("/bin/sh"))  # the stand-in systemctl's interpreter
    sandbox = namespace.Sandbox(
        read_only_root=values(unit, "ProtectSystem") == ["strict"],
        no_exec_root=values(unit, "NoExecPaths") == ["/"],
        exec_paths=exec_paths,
        # PrivateTmp=yes gives the unit a writable /tmp of its own (apt writes there): writable
        # here too, though shared with this machine (the privacy is systemd's to test).
        writable_paths=unit_paths("ReadWritePaths", replacements, unit)
        + (["/tmp"] if values(unit, "PrivateTmp") == ["yes"] else []),
    )

    def run(*commands: dict) -> list[dict]:
        spec = user.spec(list(commands), sandbox)
        return namespace.run(spec, tmp_path)

    run.data = data  # type: ignore[attr-defined]
    run.program = program  # type: ignore[attr-defined]
    return run


def as_user(*argv: str) -> dict:
    return {"argv": list(argv), "env": {"PATH": "/usr/bin:/bin"}}


def as_root(*argv: str, **env: str) -> dict:
    return {"argv": list(argv), "env": {"PATH": "/usr/bin:/bin", **env}, "as_root": True}


def test_sudo_still_restarts_a_unit_as_root_inside_the_sandbox(sandboxed):
    [result] = sandboxed(as_user(SUDO, "-n", SYSTEMCTL, "restart", "--", "nginx"))

    assert result["exit"] == 0, result["output"]
    assert "uid=0\n" in result["output"]
    assert "argv=restart -- nginx\n" in result["output"]


def test_the_service_user_can_run_journalctl_for_journal_sources(sandboxed):
    [result] = sandboxed(as_user("/usr/bin/journalctl", "--version"))

    assert result["exit"] == 0, result["output"]
    assert result["output"].startswith("systemd ")


def test_no_other_setuid_program_can_be_started(sandboxed):
    results = sandboxed(as_user("/usr/bin/su", "-c", "id"), as_user("/usr/bin/passwd", "--status"))

    for result in results:
        assert result["exit"] == 127
        assert "Permission denied" in result["output"]


def test_nothing_written_to_the_data_dir_can_run_even_as_root(sandboxed):
    [result] = sandboxed(as_root(str(sandboxed.program)))

    assert result["exit"] == 127
    assert "Permission denied" in result["output"]


def test_the_dashboard_migrates_and_starts_writing_only_to_the_data_dir(sandboxed):
    python = str(REPO / ".venv" / "bin" / "python")
    env = {"WPDASH_DATA_DIR": str(sandboxed.data), "DJANGO_ALLOWED_HOSTS": "dash.example.com", "WPDASH_HTTPS": "on"}

    migrate, check, imports = sandboxed(
        as_root(python, str(REPO / "manage.py"), "migrate", "--noinput", **env),
        as_root(python, str(REPO / "manage.py"), "check", **env),
        # daphne's server and the MariaDB driver load compiled modules from the venv
        # and shared libraries from /usr/lib: both must be executable in the sandbox.
        as_root(python, "-c", "import daphne.server, twisted.internet.asyncioreactor, MySQLdb", **env),
    )

    assert migrate["exit"] == 0, migrate["output"]
    assert check["exit"] == 0, check["output"]
    assert imports["exit"] == 0, imports["output"]
    assert (sandboxed.data / "wpdash.sqlite3").exists()


def test_the_wait_for_daphne_runs_in_the_sandbox(sandboxed):
    # The unit's ExecStartPost, word for word but for the paths of this checkout, its port
    # and (for the second run) a short timeout: the exec allowlist lets it run (root too is
    # bound by the no-exec mounts; as the migrate test above, root because this machine's
    # Python may live where the throwaway user cannot look), it succeeds once the port
    # listens, and fails, naming it, while nothing does.
    [command] = values("wpdash.service", "ExecStartPost")
    argv = shlex.split(command.replace("/opt/wpdash/.venv", str(REPO / ".venv")).replace("/opt/wpdash", str(REPO)))
    env = {"WPDASH_DATA_DIR": str(sandboxed.data), "DJANGO_ALLOWED_HOSTS": "dash.example.com", "WPDASH_HTTPS": "on"}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        argv[argv.index("--port") + 1] = port
        (listening,) = sandboxed(as_root(*argv, **env))
    (refused,) = sandboxed(as_root(*argv, "--timeout", "0.5", **env))

    assert listening["exit"] == 0, listening["output"]
    assert refused["exit"] == 1
    assert f"Nothing accepts connections on 127.0.0.1:{port} after 0.5 s." in refused["output"]


def apt_simulation(settings) -> list[str]:
    """adapters/apt.py's own argv, with the system's apt and configuration."""
    settings.WPDASH_APT_GET, settings.WPDASH_APT_CONFIG = "/usr/bin/apt-get", ""
    return apt.command()


@pytest.mark.parametrize("sandboxed", ["wpdash-watch.service"], indirect=True)
def test_the_watcher_counts_updates_with_apt_as_the_service_user_on_the_read_only_system(sandboxed, settings):
    # adapters/apt.py's command, run as the unit's user inside its sandbox: apt reads its
    # lists and dpkg's state, writes nothing (no lock, no cache file) and answers.
    [result] = sandboxed(as_user(*apt_simulation(settings)))

    assert result["exit"] == 0, result["output"]
    assert "upgraded," in result["output"]


def test_the_dashboard_itself_may_not_run_apt(sandboxed, settings):
    [result] = sandboxed(as_user(*apt_simulation(settings)))

    assert result["exit"] == 127
    assert "Permission denied" in result["output"]
