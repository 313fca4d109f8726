"""The generated drop-in, loaded by the real sudo, lets the service user restart and do nothing else.

The user is made by the README's own useradd command, written into copies of the
account files; the drop-in replaces /etc/sudoers.d and a stand-in replaces
/usr/bin/systemctl, all inside a private mount namespace (tests/support/namespace.py), so
the real systemctl never runs and the machine is left as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import namespace
from tests.support.deployment import SUDO, SYSTEMCTL, service_user_with_sudoers

CALLER_ENV = {
    "PATH": "/usr/bin:/bin",
    "SYSTEMD_PAGER": "/bin/sh",
    "SYSTEMD_LOG_LEVEL": "debug",
    "DISPLAY": ":9",  # in sudo's compiled-in env_keep list on Debian; !env_keep drops it
    "WPDASH_MARKER": "leaked",
}


def run_as_service_user(tmp_path: Path, units: list[str], *commands: list[str]) -> list[dict]:
    user = service_user_with_sudoers(tmp_path, units)
    spec = user.spec([{"argv": [SUDO, "-n", *command], "env": CALLER_ENV} for command in commands])
    return namespace.run(spec, tmp_path)


def test_the_service_user_may_restart_an_allowlisted_unit_as_root(tmp_path):
    [result] = run_as_service_user(tmp_path, ["nginx", "php8.2-fpm"], [SYSTEMCTL, "restart", "--", "nginx"])

    assert result["exit"] == 0, result["output"]
    assert "uid=0\n" in result["output"]
    assert "argv=restart -- nginx\n" in result["output"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["stop", "nginx"],
        ["start", "nginx"],
        ["restart", "nginx"],  # without "--": not the words of the rule
        ["stop", "--", "nginx"],
        ["restart", "--", "nginx.service"],
        ["restart", "--", "nginx", "postfix"],
        ["restart", "--", "ssh"],
        ["restart", "--", "ngin?"],
        ["restart", "--", "nginx", "--no-block"],
        ["--no-pager", "restart", "--", "nginx"],
    ],
)
def test_anything_else_through_systemctl_is_refused(tmp_path, arguments):
    [result] = run_as_service_user(tmp_path, ["nginx", "php8.2-fpm"], [SYSTEMCTL, *arguments])

    assert result["exit"] == 1
    assert "a password is required" in result["output"]
    assert "argv=" not in result["output"]


def test_other_commands_are_refused(tmp_path):
    results = run_as_service_user(tmp_path, ["nginx"], ["/bin/sh", "-c", "id"], ["/usr/bin/id"])

    assert [result["exit"] for result in results] == [1, 1]
    assert all("a password is required" in result["output"] for result in results)


def test_no_variable_of_the_service_reaches_systemctl(tmp_path):
    [result] = run_as_service_user(tmp_path, ["nginx"], [SYSTEMCTL, "restart", "--", "nginx"])

    assert result["exit"] == 0, result["output"]
    for name in CALLER_ENV:
        if name != "PATH":
            assert name not in result["output"]


def test_an_escaped_unit_name_matches_exactly_that_unit(tmp_path):
    results = run_as_service_user(
        tmp_path,
        ["foo:bar", "getty@tty1"],
        [SYSTEMCTL, "restart", "--", "foo:bar"],
        [SYSTEMCTL, "restart", "--", "foo\\:bar"],
        [SYSTEMCTL, "restart", "--", "getty@tty1"],
    )

    assert [result["exit"] for result in results] == [0, 1, 0]
