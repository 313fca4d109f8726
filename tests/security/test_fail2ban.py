"""The shipped fail2ban filter and jail (deploy/fail2ban/) against real sign-in attempts.

A live daphne, run as deploy/wpdash.service runs it (--proxy-headers: the client's
address comes from nginx's X-Forwarded-For), is signed into wrongly on every way in;
its log lines go into real journal files as journald stores the unit's output
(tests/support/fail2ban.py), and Debian's fail2ban reads them with the journal
backend the jail uses: fail2ban-regex for what the filter matches, fail2ban-server
with the jail for what it bans.
"""

from __future__ import annotations

import configparser
import logging
import math
import re
import shutil
import subprocess
import sys
from collections import Counter

import pytest
import requests

from tests.support.fail2ban import FAIL2BAN_CLIENT, SHIPPED, SYSTEM_CONFIG, Fail2ban, require_fail2ban, write_journal
from tests.support.servers import REPO, live_server, wait_until
from wpdash.log_config import OneRecordPerLine
from wpdash.settings import AXES_COOLOFF_TIME, AXES_FAILURE_LIMIT

PASSWORD = "the operator's real password 42"
WRONG = "a wrong password 7c1e"
HOSTILE = "x from 192.0.2.66 on /\nfailed sign-in from 192.0.2.67 on / user='y"
PERSON = "198.51.100.30"  # mistypes until locked out, as a person might
BURST = "198.51.100.20"  # tries one username after another, which no per-user lockout stops
BURST_SIZE = 12
ONE_EACH = {
    "203.0.113.10": "the login page",
    "203.0.113.11": "the admin",
    "203.0.113.12": "the token endpoint",
    "2001:db8::13": "the password grant",
    "203.0.113.14": "a username made to look like a log line",
}


def sign_in(server, address: str, username: str, password: str, path: str = "/accounts/login/") -> int:
    """One sign-in through `path` as a browser or client at `address` (behind nginx)."""
    headers = {"X-Forwarded-For": address}
    if path.startswith("/api/"):
        return requests.post(
            server.url + path, json={"username": username, "password": password}, headers=headers, timeout=30
        ).status_code
    session = requests.Session()
    session.get(server.url + path, headers=headers, timeout=30)
    form = {"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    return session.post(server.url + path, data=form, headers=headers, timeout=30, allow_redirects=False).status_code


@pytest.fixture(scope="module")
def daphne_lines(tmp_path_factory) -> list[str]:
    """The log of a daphne that saw every kind of sign-in attempt, one line per entry."""
    require_fail2ban()
    with live_server(tmp_path_factory.mktemp("fail2ban"), daphne_args=("--proxy-headers",)) as server:
        server.create_user("operator", PASSWORD, is_staff=True)
        sign_in(server, "203.0.113.10", "operator", WRONG)
        sign_in(server, "203.0.113.11", "operator", WRONG, "/admin/login/")
        sign_in(server, "203.0.113.12", "operator", WRONG, "/api/v1/auth/token")
        sign_in(server, "2001:db8::13", "operator", WRONG, "/api/v1/auth/login")
        sign_in(server, "203.0.113.14", HOSTILE, WRONG)
        assert sign_in(server, "203.0.113.15", "operator", PASSWORD) == 302  # a good one: never counted
        person = [sign_in(server, PERSON, "operator", WRONG) for _ in range(AXES_FAILURE_LIMIT)]
        assert person[-1] == 429  # locked out by django-axes at its limit
        usernames = ["admin", "root", "wordpress"]  # each below the lockout's limit
        for attempt in range(BURST_SIZE):
            sign_in(server, BURST, usernames[attempt % len(usernames)], WRONG, "/api/v1/auth/token")
        return server.log().splitlines()


@pytest.fixture
def journal(tmp_path, daphne_lines):
    directory = tmp_path / "journal"
    write_journal(directory, daphne_lines)
    # Another unit's line in the same journal, worded as ours: the filter must not read it.
    write_journal(
        directory,
        [f"{daphne_lines[-1][:23]} WARNING server_monitor.signin failed sign-in from 192.0.2.99 on / user='a'"],
        unit="php8.2-fpm.service",
        identifier="wpdash",
    )
    return directory


EXPECTED = Counter({**dict.fromkeys(ONE_EACH, 1), PERSON: AXES_FAILURE_LIMIT, BURST: BURST_SIZE})


def test_fail2ban_regex_finds_every_failed_sign_in_once_with_the_address_nginx_gave(journal, daphne_lines):
    with Fail2ban.configured(journal) as fail2ban:
        found = Counter(fail2ban.regex(journal))

    assert found == EXPECTED
    assert not any(WRONG in line or PASSWORD in line for line in daphne_lines)


def test_the_shipped_jail_bans_the_burst_and_not_the_person_locked_out_nor_single_failures(journal):
    with Fail2ban.configured(journal) as configured, configured.running() as fail2ban:
        wait_until(
            lambda: fail2ban.total_failed() == sum(EXPECTED.values()),
            timeout=30,
            interval=0.2,
            message="fail2ban to read every failed sign-in",
        )
        wait_until(lambda: BURST in fail2ban.banned(), timeout=10, interval=0.2, message=f"{BURST} to be banned")

        assert fail2ban.banned() == {BURST}


def test_the_jail_spares_a_person_the_lockout_stopped_and_bans_one_who_comes_back_after_each_cool_off():
    jail = configparser.ConfigParser(interpolation=None)
    jail.read(SHIPPED / "jail.d" / "wpdash.conf")
    section = jail["wpdash"]
    maxretry = int(section["maxretry"])
    findtime = Fail2ban.seconds(section["findtime"])
    cool_off = AXES_COOLOFF_TIME.total_seconds()
    # Failing at the lockout's own pace (the limit, then a wait for the cool-off, ...),
    # the rounds needed to reach maxretry all fall within findtime.
    rounds = math.ceil(maxretry / AXES_FAILURE_LIMIT)

    assert section["backend"] == "systemd" and section["filter"] == "wpdash"
    assert maxretry > AXES_FAILURE_LIMIT
    assert (rounds - 1) * cool_off < findtime


def test_a_line_break_smuggled_into_any_log_record_cannot_forge_a_failed_sign_in(tmp_path):
    require_fail2ban()
    forged = "2026-11-22 03:05:41,123 WARNING server_monitor.signin failed sign-in from 192.0.2.50 on / user='x'"
    (console,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, OneRecordPerLine)]
    message = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/a\n{forged}",), None
    )
    try:
        raise ValueError(f"a client's text\n{forged}")
    except ValueError:
        crash = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), sys.exc_info()
        )
    lines = [line for record in (message, crash) for line in console.format(record).splitlines()]
    journal = tmp_path / "journal"
    write_journal(journal, lines)

    assert any(line.endswith(forged) for line in lines)  # the text is there, after "  | "
    with Fail2ban.configured(journal) as fail2ban:
        assert fail2ban.regex(journal) == []


def test_the_production_guides_step_installs_a_configuration_fail2ban_accepts(tmp_path):
    require_fail2ban()
    guide = (REPO / "README.md").read_text().split("\n## Production\n", 1)[1]
    step = guide.split("\n### 13. fail2ban for the dashboard's own sign-in\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", step, flags=re.DOTALL)
    installs = [line for block in blocks for line in block.splitlines() if line.startswith("install ")]
    copy = tmp_path / "etc-fail2ban"
    shutil.copytree(SYSTEM_CONFIG, copy)
    (copy / "jail.d" / "defaults-debian.conf").unlink(missing_ok=True)  # its sshd jail needs an sshd, absent here
    script = "\n".join(line.replace("/etc/fail2ban", str(copy)).replace("/opt/wpdash", str(REPO)) for line in installs)

    subprocess.run(["sh", "-ec", script], check=True, timeout=30)
    checked = subprocess.run(
        [str(FAIL2BAN_CLIENT), "-c", str(copy), "-t"], capture_output=True, text=True, timeout=60, check=False
    )

    assert len(installs) == 2
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK: configuration test is successful" in checked.stdout
    for part in ("filter.d", "jail.d"):
        assert (copy / part / "wpdash.conf").read_bytes() == (SHIPPED / part / "wpdash.conf").read_bytes()
