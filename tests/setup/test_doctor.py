"""`manage.py doctor` says in words what keeps wpdash from working, exit code 0/1."""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from server_monitor.workflows import doctor, metrics
from tests.support.journal import JournalDirectory, require_journal_tools


@pytest.fixture
def healthy_host(fake_systemd, settings, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("one line\n")
    settings.WPDASH_LOGS = {"nginx-access": str(log)}
    journal = JournalDirectory(tmp_path / "journal")  # a real journal: no journald runs here
    journal.load_fixture(require_journal_tools())
    settings.WPDASH_JOURNAL_DIRECTORY = str(journal.path)
    settings.WPDASH_METRICS_SOURCE = "local"
    metrics.reset()
    yield fake_systemd
    metrics.reset()


def run_doctor() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("doctor", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_a_healthy_host_passes_every_check(healthy_host, db):
    code, output = run_doctor()

    assert code == 0, output
    assert "All " in output and "checks passed" in output
    assert "FAIL" not in output


def test_it_says_when_systemd_is_not_running(healthy_host, db):
    healthy_host.go_offline()

    code, output = run_doctor()

    assert code == 1
    assert "FAIL systemd" in output
    assert "systemd is not running on this host" in output


def test_it_says_when_the_journal_cannot_be_read(healthy_host, db, settings, tmp_path):
    settings.WPDASH_JOURNAL_DIRECTORY = str(tmp_path / "empty-journal")
    (tmp_path / "empty-journal").mkdir()

    code, output = run_doctor()

    assert code == 1
    assert "FAIL journal" in output
    assert "No journal files were found" in output


def test_it_names_an_unreadable_or_missing_log(healthy_host, db, settings, tmp_path):
    settings.WPDASH_LOGS = {"php-fpm": str(tmp_path / "php8.2-fpm.log")}

    code, output = run_doctor()

    assert code == 1
    assert "FAIL logs" in output
    assert "php-fpm" in output


def test_it_says_when_netdata_does_not_answer(healthy_host, db, settings):
    settings.WPDASH_METRICS_SOURCE = "auto"
    settings.NETDATA_URL = "http://127.0.0.1:9"

    code, output = run_doctor()

    assert code == 1
    assert "FAIL netdata" in output
    assert "fall back to local sampling" in output


@pytest.mark.skipif(os.geteuid() != 0, reason="the real sudo answers -l for root only without a rule")
def test_it_asks_the_real_sudo_whether_restarts_are_allowed(healthy_host, db, settings):
    settings.WPDASH_SUDO = True

    findings = {finding.check: finding for finding in doctor.check_services()}

    assert findings["sudo"].ok, findings["sudo"].message


def test_admins_see_the_problems_on_the_status_page(healthy_host, superuser, client, settings, tmp_path):
    settings.WPDASH_LOGS = {"php-fpm": str(tmp_path / "php8.2-fpm.log")}
    client.force_login(superuser)

    html = client.get("/").content.decode()

    assert "Setup checks" in html
    assert "php-fpm" in html


def test_other_users_do_not_see_setup_checks(healthy_host, viewer, client, settings, tmp_path):
    settings.WPDASH_LOGS = {"php-fpm": str(tmp_path / "php8.2-fpm.log")}
    client.force_login(viewer)

    assert "Setup checks" not in client.get("/").content.decode()


def test_it_names_a_folder_on_a_logs_path_that_others_can_change(healthy_host, db, settings, tmp_path):
    # As a log in WordPress's wp-content: whoever may write there could swap the log.
    shared = tmp_path / "shared"
    (shared / "site").mkdir(parents=True)
    shared.chmod(0o777)
    os.chown(shared / "site", 65534, 65534)  # nobody's folder
    log = shared / "site" / "debug.log"
    log.write_text("PHP Notice: x\n")
    settings.WPDASH_LOGS = {"debug": str(log)}

    code, output = run_doctor()

    assert code == 1
    assert f"FAIL logs      debug: the folder {shared} (root:root, mode 0777) can be changed by " in output
    assert "can be changed by group root and everyone, not only by root and the log's owner" in output
    assert f"debug: the folder {shared / 'site'} (nobody:nogroup, mode 0755) can be changed by user nobody, " in output
    assert "not only by root and the log's owner: they could put another file under the log's name." in output
    assert f"`chown root {shared} && chmod go-w {shared}`" in output
    assert f"ok   logs      debug: {log} is readable." in output


def test_a_folder_the_logs_own_writer_owns_is_not_reported(healthy_host, db, settings, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    os.chown(site, 65534, 65534)
    log = site / "debug.log"
    log.write_text("PHP Notice: x\n")
    os.chown(log, 65534, 65534)  # nobody writes the log and owns its folder: nobody else can change it
    settings.WPDASH_LOGS = {"debug": str(log)}

    assert [finding for finding in doctor.check_logs() if not finding.ok] == []


def test_a_log_pinned_at_start_up_is_shown_with_the_link_it_came_from(healthy_host, db, settings, tmp_path):
    log = settings.WPDASH_LOGS["nginx-access"]
    settings.WPDASH_LOG_PINS = {log: str(tmp_path / "current" / "access.log")}

    _, output = run_doctor()

    assert f"nginx-access: {log} (the target of {tmp_path / 'current' / 'access.log'}, resolved at start-up)" in output
