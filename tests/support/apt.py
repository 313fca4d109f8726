"""A real apt with a state of its own: a local repository (a file: URI, no network), a dpkg
status file of "installed" packages, and an apt.conf pointing apt at all of it. `apt-get
update` reads the repository into lists as it would a mirror's; then `apt-get -s
dist-upgrade -c apt.conf` answers about this state, not the host's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.servers import missing_server

APT_GET = "/usr/bin/apt-get"
PACKAGE = """Package: {name}
Architecture: amd64
Version: {version}
Maintainer: Test <test@example.org>
Filename: pool/{name}.deb
Size: 10
Description: {name}

"""
INSTALLED = """Package: {name}
Status: install ok installed
Priority: optional
Section: libs
Maintainer: Test <test@example.org>
Architecture: amd64
Version: {version}
Description: {name}

"""
RELEASE = "Origin: Debian\nLabel: {label}\nSuite: {suite}\nCodename: {codename}\nVersion: {version}\n"
RELEASE_TAIL = "Architectures: amd64\nComponents: main\n"


def apt_root(root: Path, installed: dict[str, str], security: dict[str, str], regular: dict[str, str]) -> Path:
    """Make the state and run `apt-get update` on it; returns the apt.conf to give with -c."""
    if shutil.which(APT_GET) is None:
        missing_server("apt-get is not installed")
    archives = {
        ("bookworm", "stable", "Debian", "12.5"): regular,
        ("bookworm-security", "stable-security", "Debian-Security", "12"): security,
    }
    for (codename, suite, label, version), packages in archives.items():
        binary = root / "repo" / "dists" / codename / "main" / "binary-amd64"
        binary.mkdir(parents=True)
        (binary / "Packages").write_text("".join(PACKAGE.format(name=n, version=v) for n, v in packages.items()))
        release = RELEASE.format(label=label, suite=suite, codename=codename, version=version) + RELEASE_TAIL
        (root / "repo" / "dists" / codename / "Release").write_text(release)
    for folder in ("state/lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/preferences.d"):
        (root / folder).mkdir(parents=True)
    (root / "etc" / "sources.list.d").mkdir()
    (root / "state" / "status").write_text("".join(INSTALLED.format(name=n, version=v) for n, v in installed.items()))
    (root / "etc" / "sources.list").write_text(
        f"deb [trusted=yes] file:{root}/repo bookworm main\ndeb [trusted=yes] file:{root}/repo bookworm-security main\n"
    )
    config = root / "apt.conf"
    config.write_text(
        f'Dir::State "{root}/state";\nDir::State::status "{root}/state/status";\nDir::Cache "{root}/cache";\n'
        f'Dir::Etc "{root}/etc";\nDir::Etc::sourcelist "{root}/etc/sources.list";\n'
        f'Dir::Etc::sourceparts "{root}/etc/sources.list.d";\nDir::Etc::parts "{root}/etc/apt.conf.d";\n'
        f'Dir::Etc::preferencesparts "{root}/etc/preferences.d";\n'
        'APT::Architecture "amd64";\nAPT::Architectures { "amd64"; };\n'
    )
    result = subprocess.run(
        [APT_GET, "-c", str(config), "-q", "update"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return config
