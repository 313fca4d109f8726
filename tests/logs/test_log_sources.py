"""Log sources come from settings only; their status says why one cannot be read."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_monitor.web.errors import answer_for
from server_monitor.workflows.logs import sources
from tests.support.logs import run_as_nobody


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder `nobody` may enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="wpdash-logs-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def configured(settings, tmp_path):
    access = tmp_path / "access.log"
    access.write_text("hello\n")
    settings.WPDASH_LOGS = {"nginx-access": str(access), "mysql": str(tmp_path / "missing.log")}
    return settings.WPDASH_LOGS


def test_the_sources_are_the_configured_ones_read_at_call_time(configured):
    assert [(s.name, s.path) for s in sources.configured_sources()] == list(configured.items())


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "%2e%2e", "..", "/etc/passwd", "nginx-access\x00", "nginx-access/../mysql", "", None, 7],
)
def test_anything_but_a_configured_name_is_unknown(configured, name):
    with pytest.raises(sources.UnknownLog) as error:
        sources.get_source(name)

    assert answer_for(error.value).http_status == 400
    assert "mysql, nginx-access" in error.value.detail


def test_an_existing_readable_log_reports_its_size_and_time(configured):
    status = sources.get_source("nginx-access").status()

    assert (status.exists, status.readable, status.available, status.size) == (True, True, True, 6)
    assert status.modified is not None and status.reason is None


def test_a_missing_log_says_it_does_not_exist(configured):
    status = sources.get_source("mysql").status()

    assert (status.exists, status.readable, status.size, status.modified) == (False, False, None, None)
    assert status.reason == f"{configured['mysql']} does not exist."


def test_an_unavailable_log_is_logged_once_not_per_request(configured, caplog):
    sources._reported.clear()
    source = sources.get_source("mysql")

    with caplog.at_level(logging.INFO, logger="server_monitor.logs"):
        for _ in range(3):
            source.status()
            source.tail(5)
        Path(configured["mysql"]).write_text("back\n")
        source.status()

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        f"log mysql is not available: {configured['mysql']} does not exist.",
        "log mysql is available again",
    ]


def test_a_root_only_log_tells_the_user_it_cannot_read_it_and_what_to_do(public_dir):
    # php-fpm's log on Debian: root:root 0600.
    log = public_dir / "php8.2-fpm.log"
    log.write_text("[22-Nov-2026 03:05:14] NOTICE: fpm is running, pid 285\n")
    log.chmod(0o600)
    source = sources.FileSource("php-fpm", str(log))

    status = run_as_nobody(lambda: source.status())

    assert (status.exists, status.readable, status.available, status.size) == (True, False, False, log.stat().st_size)
    assert status.reason.startswith(f"not readable by user nobody ({log} is root:root, mode 0600): only root may read")
    assert "add nobody to group adm" in status.reason


def test_a_group_readable_log_tells_the_user_which_group_to_join(public_dir):
    # nginx's logs on Debian: www-data:adm 0640.
    log = public_dir / "access.log"
    log.write_text("x\n")
    os.chown(log, 0, 4)  # adm
    log.chmod(0o640)

    reason = run_as_nobody(lambda: sources.FileSource("nginx-access", str(log)).status().reason)

    assert reason.startswith(f"not readable by user nobody ({log} is root:adm, mode 0640): add nobody to group adm")


def test_a_closed_folder_is_named_as_the_reason(public_dir):
    # redis's folder on Debian: redis:adm 2750 hides the log inside it.
    folder = public_dir / "redis"
    folder.mkdir()
    (folder / "redis-server.log").write_text("x\n")
    os.chown(folder, 0, 4)
    folder.chmod(0o2750)

    status = run_as_nobody(lambda: sources.FileSource("redis", str(folder / "redis-server.log")).status())

    assert (status.exists, status.readable) == (None, False)
    assert f"the folder {folder} (root:adm) is closed to it; add nobody to group adm" in status.reason


def test_the_tail_of_an_unreadable_log_is_empty_with_the_reason(public_dir):
    log = public_dir / "php8.2-fpm.log"
    log.write_text("secret\n")
    log.chmod(0o600)

    result = run_as_nobody(lambda: sources.FileSource("php-fpm", str(log)).tail(10))

    assert (result.lines, result.available) == ([], False)
    assert "not readable by user nobody" in result.reason
