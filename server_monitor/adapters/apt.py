"""Debian's package state: pending security updates and "reboot required", without the network.

The count comes from apt itself: `apt-get -s dist-upgrade` simulates an upgrade from the
package lists already on disk (whatever `apt update` or its daily timer fetched last),
as any user, touching neither the network nor a lock (`Debug::NoLocking`) nor apt's
cache files (built in memory instead, so a read-only file system is fine). Each `Inst`
line names the archives the new version comes from ("Debian-Security:12/stable-security",
"Ubuntu:22.04/jammy-security"); a package counts as a security update when one of them
is a security archive. dist-upgrade rather than upgrade: a kernel's security update
pulls in a new package, and plain upgrade holds exactly those back.

"Reboot required" is the flag file Debian's and Ubuntu's package scripts write
(/var/run/reboot-required, the packages that asked for it in its .pkgs beside it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from server_monitor.adapters.process import run
from server_monitor.errors import Unavailable

TIMEOUT = 120.0  # seconds: resolving a full upgrade of a large system takes a few
INST_RE = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) ([^)]*)\)", re.MULTILINE)
MAX_PKGS_BYTES = 64 * 1024


class AptUnavailable(Unavailable):
    """apt-get could not be run or did not answer as apt-get does."""


@dataclass(frozen=True)
class Update:
    package: str
    installed: str | None
    candidate: str
    origins: str  # as apt prints them: "Debian-Security:12/stable-security [amd64]"

    @property
    def security(self) -> bool:
        return "security" in self.origins.lower()


def command() -> list[str]:
    config = ["-c", settings.WPDASH_APT_CONFIG] if settings.WPDASH_APT_CONFIG else []
    return [
        settings.WPDASH_APT_GET,
        *config,
        "-s",
        "-q",
        "-o",
        "Debug::NoLocking=true",
        "-o",
        "Dir::Cache::pkgcache=",
        "-o",
        "Dir::Cache::srcpkgcache=",
        "dist-upgrade",
    ]


def parse_simulation(text: str) -> list[Update]:
    return [
        Update(name, installed or None, candidate, origins)
        for name, installed, candidate, origins in INST_RE.findall(text)
    ]


def pending_updates() -> list[Update]:
    """Every upgrade apt would make now, from the lists on disk; AptUnavailable when it cannot tell."""
    try:
        result = run(command(), timeout=TIMEOUT, limit=4 * 1024 * 1024)
    except OSError as error:
        raise AptUnavailable(f"{settings.WPDASH_APT_GET} cannot be run: {error.strerror}") from None
    if result.timed_out:
        raise AptUnavailable(f"apt-get did not finish within {TIMEOUT:g} s")
    if result.exit_code != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1][:300]
        raise AptUnavailable(f"apt-get -s dist-upgrade failed (exit {result.exit_code}): {last}")
    return parse_simulation(result.stdout)


def reboot_required() -> list[str] | None:
    """None when no reboot is asked for; else the packages that asked (possibly none named)."""
    flag = settings.WPDASH_REBOOT_REQUIRED_FILE
    try:
        with open(flag, "rb"):
            pass
    except FileNotFoundError:
        return None
    except OSError:
        return []  # there, but closed to us: a reboot is still required
    try:
        with open(flag + ".pkgs", "rb") as handle:
            names = handle.read(MAX_PKGS_BYTES).decode("utf-8", "replace").split()
    except OSError:
        names = []
    return list(dict.fromkeys(names))
