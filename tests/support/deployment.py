"""The files of deploy/ as the tests read them: systemd units, env.example, the service user."""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.support import namespace
from tests.support.servers import REPO, clean_environ

DEPLOY = REPO / "deploy"
EXAMPLE = DEPLOY / "env.example"

# The README's "create the service user" command, word for word (tests/deploy/test_production_readme.py).
USERADD = ["--system", "--user-group", "--groups", "adm", "--home-dir", "/var/lib/wpdash"]
USERADD += ["--shell", "/usr/sbin/nologin", "wpdash"]
SUDO = "/usr/bin/sudo"
SYSTEMCTL = "/usr/bin/systemctl"


def settings_of(unit: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every setting, in order; repeated keys kept."""
    section = ""
    found = []
    for raw in (DEPLOY / unit).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(unit: str, key: str) -> list[str]:
    return [value for section, name, value in settings_of(unit) if name == key]


def example_lines(*, commented: bool) -> dict[str, str]:
    """KEY=value lines of the example; the commented ones are the optional settings."""
    pattern = re.compile(r"^#([A-Z][A-Z0-9_]*)=(.*)$" if commented else r"^([A-Z][A-Z0-9_]*)=(.*)$")
    found = {}
    for line in EXAMPLE.read_text().splitlines():
        match = pattern.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def environment(tmp_path: Path, values: dict[str, str]) -> dict[str, str]:
    """The example's values on a clean environment. Two are replaced, and only
    these: the placeholder secret by a generated one, and the data dir by a
    temporary one (/var/lib/wpdash does not exist here)."""
    values = dict(values)
    assert values["WPDASH_DATA_DIR"] == "/var/lib/wpdash"
    values["WPDASH_DATA_DIR"] = str(tmp_path / "data")
    assert values["DJANGO_SECRET_KEY"] == "REPLACE-ME"
    values["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)  # what the README's command generates
    return clean_environ(**values)


@dataclass(frozen=True)
class ServiceUser:
    """The README's service user, with the generated sudoers drop-in, for a namespace run."""

    prefix: Path
    uid: int
    gid: int
    drop_ins: Path
    work: Path

    def spec(self, commands: list[dict], sandbox: namespace.Sandbox | None = None) -> namespace.Spec:
        """Run `commands` as this user where /etc/sudoers.d is the drop-in and systemctl the stand-in."""
        return namespace.Spec(
            binds=[
                *namespace.account_binds(self.prefix),
                (str(self.drop_ins), "/etc/sudoers.d"),
                (str(namespace.stand_in_systemctl(self.work)), SYSTEMCTL),
            ],
            uid=self.uid,
            gid=self.gid,
            groups=[self.gid],
            commands=commands,
            sandbox=sandbox,
        )


def service_user_with_sudoers(work: Path, units: list[str]) -> ServiceUser:
    """useradd as the README says, and `manage.py sudoers` for `units` as the drop-in."""
    namespace.require_namespaces()
    prefix, uid, gid, _ = namespace.add_system_user(work / "accounts", USERADD)
    drop_ins = work / "sudoers.d"
    drop_ins.mkdir(mode=0o755)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        from django.conf import settings

        patch.setattr(settings, "WPDASH_SERVICES", units)
        patch.setattr(settings, "WPDASH_SYSTEMCTL", SYSTEMCTL)
        call_command("sudoers", "--user", "wpdash", stdout=out)
    (drop_ins / "wpdash").write_text(out.getvalue())
    (drop_ins / "wpdash").chmod(0o440)
    return ServiceUser(prefix, uid, gid, drop_ins, work)
