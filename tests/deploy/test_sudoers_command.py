"""`manage.py sudoers` prints one exact restart rule per allowlisted unit, checked by visudo."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from server_monitor.management.commands.sudoers import sudoers_argument
from tests.support.servers import missing_server


def sudoers(**options: str) -> str:
    out = io.StringIO()
    call_command("sudoers", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith(("#", "Defaults"))]


def visudo_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("visudo") is None:
        missing_server("visudo is not installed (apt-get install sudo)")
    drop_in = tmp_path / "wpdash"
    drop_in.write_text(text)
    drop_in.chmod(0o440)  # the mode it is installed with; visudo -c complains about others
    return subprocess.run(["visudo", "-cf", str(drop_in)], capture_output=True, text=True, timeout=30, check=False)


def test_it_prints_one_restart_rule_per_unit_of_the_default_allowlist(settings):
    assert rules(sudoers()) == [
        f"wpdash ALL=(root) NOPASSWD: /usr/bin/systemctl restart -- {unit}" for unit in settings.DEFAULT_SERVICES
    ]


def test_the_rules_follow_the_configured_allowlist_user_and_systemctl(settings):
    settings.WPDASH_SERVICES = ["nginx", "php8.3-fpm", "getty@tty1"]
    settings.WPDASH_SYSTEMCTL = "/bin/systemctl"

    assert rules(sudoers(user="dash")) == [
        "dash ALL=(root) NOPASSWD: /bin/systemctl restart -- nginx",
        "dash ALL=(root) NOPASSWD: /bin/systemctl restart -- php8.3-fpm",
        "dash ALL=(root) NOPASSWD: /bin/systemctl restart -- getty@tty1",
    ]


def test_it_keeps_no_environment_and_needs_no_terminal():
    defaults = [line for line in sudoers().splitlines() if line.startswith("Defaults")]

    assert defaults == ["Defaults:wpdash !requiretty", "Defaults:wpdash env_reset", "Defaults:wpdash !env_keep"]
    assert "SETENV" not in sudoers()


def test_a_colon_in_a_unit_name_is_escaped():
    assert sudoers_argument("foo:bar.service") == "foo\\:bar.service"


@pytest.mark.parametrize("unit", ["a\\x2db.service", "nginx;id", "-nginx", "nginx restart", "ALL,nginx", "ngin*"])
def test_it_refuses_a_unit_a_rule_cannot_match_exactly(unit):
    with pytest.raises(CommandError, match="unit"):
        sudoers_argument(unit)


@pytest.mark.parametrize("user", ["root,wpdash", "%adm", "#0", "ALL", "Wpdash", "wp dash", "", "a" * 33])
def test_it_refuses_a_user_name_sudoers_would_read_as_something_else(user):
    with pytest.raises(CommandError, match="user name"):
        sudoers(user=user)


@pytest.mark.parametrize("path", ["systemctl", "/usr/bin/../bin/sh", "/usr/bin/systemctl restart", "/opt/a:b"])
def test_it_refuses_a_systemctl_path_that_is_not_plain_and_absolute(settings, path):
    settings.WPDASH_SYSTEMCTL = path

    with pytest.raises(CommandError, match="WPDASH_SYSTEMCTL"):
        sudoers()


def test_visudo_accepts_the_default_drop_in(tmp_path):
    result = visudo_check(tmp_path, sudoers())

    assert result.returncode == 0, result.stdout + result.stderr


def test_visudo_accepts_a_custom_drop_in_with_an_escaped_unit(tmp_path, settings):
    settings.WPDASH_SERVICES = ["nginx", "getty@tty1", "foo:bar.service"]

    result = visudo_check(tmp_path, sudoers(user="dash_1"))

    assert result.returncode == 0, result.stdout + result.stderr


def test_visudo_would_reject_a_broken_drop_in(tmp_path):
    # The check above can fail: visudo does reject what sudo would not parse.
    result = visudo_check(tmp_path, sudoers().replace("NOPASSWD:", "NOPASSWD"))

    assert result.returncode != 0
