"""A failed restart's message names its cause: the unit's own last lines, not systemd's.

On real journal files: tests/fixtures/journal/debian12-failed-restarts.export (a Debian 12
VM's nginx and php-fpm restarts broken by a bad config line), written by
systemd-journal-remote and read by journalctl, as a failing restart leaves them: every
entry up to systemd's "Failed to start …", stamped a minute from now so that they come
after the moment the restart begins (the row keeps the unit's journal since then).
"""

from __future__ import annotations

import time

import pytest

from server_monitor.adapters.journal.entries import Entry
from server_monitor.models import RestartAction
from server_monitor.workflows import cause
from tests.support.journal import FAILED_RESTARTS, JournalDirectory, export_bytes, export_entries, require_journal_tools

SYSTEMDS_WORDS = ("Control process exited", "Main process exited", "Failed with result", "Failed to start")


def value(fields: list[tuple[str, bytes]], name: str) -> str:
    return next((v for n, v in fields if n == name), b"").decode()


def write_failed_restart(directory: JournalDirectory, unit: str, keep=lambda fields: True) -> None:
    """The fixture's entries up to systemd's "Failed to start UNIT", those `keep` accepts,
    a minute after now."""
    entries = export_entries(require_journal_tools(FAILED_RESTARTS).read_bytes())
    last = next(i for i, fields in enumerate(entries) if value(fields, "MESSAGE").startswith(f"Failed to start {unit}"))
    chosen = [fields for fields in entries[: last + 1] if keep(fields)]
    offset = time.time_ns() // 1000 + 60_000_000 - int(value(entries[0], "__REALTIME_TIMESTAMP"))
    stamps = {"__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP"}
    shifted = [
        [(name, str(int(raw) + offset).encode() if name in stamps else raw) for name, raw in fields]
        for fields in chosen
    ]
    directory.write_export(export_bytes(shifted))


@pytest.fixture
def journal(tmp_path, settings) -> JournalDirectory:
    require_journal_tools(FAILED_RESTARTS)
    directory = JournalDirectory(tmp_path / "journal")
    settings.WPDASH_JOURNAL_DIRECTORY = str(directory.path)
    return directory


def failed_restart(client, fake_systemd, service: str) -> tuple[str, RestartAction]:
    fake_systemd.on_restart(f"{service}.service", "fail")
    response = client.post(f"/api/v1/server/services/{service}/restart")
    assert response.status_code == 503
    return response.json()["message"], RestartAction.objects.get()


def test_a_failed_nginx_restart_names_the_unknown_directive(journal, fake_systemd, signed_in, operator):
    write_failed_restart(journal, "nginx.service")

    message, row = failed_restart(signed_in(operator), fake_systemd, "nginx")

    assert message.startswith("Restart of nginx failed: systemctl restart exited with 1. The unit's journal says: ")
    # nginx's [emerg] reaches the journal at the default priority too (no [err] mark): only
    # systemd's own lines are marked, so "warning or worse" would find nothing but them.
    assert 'says: nginx[604]: 2026/12/05 17:00:07 [emerg] 604#604: unknown directive "garbage" in' in message
    assert message.endswith("nginx[604]: nginx: configuration file /etc/nginx/nginx.conf test failed")
    assert not any(words in message for words in SYSTEMDS_WORDS)
    assert all(words in row.journal for words in ("Control process exited", "Failed to start"))  # kept whole


def test_a_failed_php_fpm_restart_names_the_unknown_entry(journal, fake_systemd, signed_in, operator):
    write_failed_restart(journal, "php8.2-fpm.service")

    message, row = failed_restart(signed_in(operator), fake_systemd, "php8.2-fpm")

    # php-fpm writes its four lines at the journal's default priority: no [err] mark.
    said = message.split(". The unit's journal says: ", 1)[1].split(" | ")
    assert [line.split("] ERROR: ", 1)[1] for line in said] == [
        "[/etc/php/8.2/fpm/pool.d/www.conf:491] unknown entry 'garbage_directive'",
        "Unable to include /etc/php/8.2/fpm/pool.d/www.conf from /etc/php/8.2/fpm/php-fpm.conf at line 491",
        "failed to load configuration file '/etc/php/8.2/fpm/php-fpm.conf'",
        "FPM initialization failed",
    ]
    assert all(line.startswith("php-fpm8.2[629]: [05-Dec-2026 17:00:09]") for line in said)
    assert "Main process exited" in row.journal and "Main process exited" not in message


def test_systemds_lines_are_quoted_when_the_unit_wrote_none(journal, fake_systemd, signed_in, operator):
    write_failed_restart(journal, "nginx.service", keep=lambda fields: value(fields, "SYSLOG_IDENTIFIER") == "systemd")

    message, _ = failed_restart(signed_in(operator), fake_systemd, "nginx")

    said = message.split(". The unit's journal says: ", 1)[1].split(" | ")
    assert said == [
        "systemd[1]: nginx.service: Control process exited, code=exited, status=1/FAILURE",
        "[warning] systemd[1]: nginx.service: Failed with result 'exit-code'.",
        "[err] systemd[1]: Failed to start nginx.service - A high performance web server and a reverse proxy server.",
    ]


def test_the_rule_reads_the_line_format_the_journal_adapter_writes():
    def line(identifier: str, pid: str | None, priority: int | None, message: str) -> str:
        return Entry("c", 1_796_490_007_000_000, priority, identifier, pid, message).line

    kept = "\n".join([
        line("systemd", "1", 6, "Starting nginx.service - …"),
        line("nginx", "604", 3, "[emerg] unknown directive: it says: why"),
        line("nginx", None, 6, "a message\nwith a second line"),  # continues on the next line of the column
        line("php-fpm8.2", "629", 7, "x" * 1000),
        line("systemd", "1", 3, "nginx.service: Failed with result 'exit-code'."),
    ])  # fmt: skip

    assert cause.quoted_lines(kept) == [
        "[err] nginx[604]: [emerg] unknown directive: it says: why",
        "nginx: a message with a second line",
        "php-fpm8.2[629]: " + "x" * (cause.LINE_CHARS - len("php-fpm8.2[629]: ") - 1) + "…",
    ]
