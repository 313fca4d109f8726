"""The alerts' settings: a bad value stops start-up in one line naming it, a secret never in it."""

from __future__ import annotations

import pytest

from tests.setup.test_settings import run_check
from wpdash import env_alerts as env
from wpdash.env import EXIT_BAD_SETTING


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "EMAIL_URL",
            "imap://u:hunter2@mail.example.org",
            "EMAIL_URL: unknown scheme 'imap'; use smtp://host:port, "
            "submission://user:pass@host:587 or console: (mails printed, for trying it out).",
        ),
        (
            "EMAIL_URL",
            "smtp://user:hunter2@mail.example.org:2x5",
            "EMAIL_URL (smtp://…) cannot be parsed: give smtp://user:pass@host:port.",
        ),
        (
            "WPDASH_ALERT_EMAIL",
            "ops@example.org,not-an-address",
            "WPDASH_ALERT_EMAIL: 'not-an-address' is not an e-mail address.",
        ),
        ("WPDASH_WATCH_SECONDS", "0", "WPDASH_WATCH_SECONDS=0: at least 1, at most 60"),
        ("WPDASH_ALERT_CLEAR_SECONDS", "-5", "WPDASH_ALERT_CLEAR_SECONDS=-5: at least 0, at most 3600"),
        (
            "WPDASH_ALERT_PATTERNS",
            "php fatal=PHP Fatal error",
            "WPDASH_ALERT_PATTERNS: 'php fatal=PHP Fatal error' is not NAME=TEXT (or NAME@LOG+LOG=TEXT) "
            "with a NAME of a-z, 0-9 and -.",
        ),
        (
            "WPDASH_ALERT_PATTERNS",
            "unit-failed=oops",
            "WPDASH_ALERT_PATTERNS: the rule name 'unit-failed' is taken; choose another.",
        ),
        ("WPDASH_ALERT_PATTERNS", "x@../etc=oops", "WPDASH_ALERT_PATTERNS: '../etc' in 'x' is not a log name."),
        (
            "WPDASH_ALERT_OFF",
            "disk-fill",
            "WPDASH_ALERT_OFF: 'disk-fill' is not a rule: use unit-failed, autorestart-gave-up, "
            "disk-full, disk-filling, cpu-high, ram-high, certificate, security-updates, reboot-required, "
            "site-errors, site-slow or a pattern's name.",
        ),
        ("WPDASH_AUTORESTART", "sshd", "WPDASH_AUTORESTART: 'sshd' is not in WPDASH_SERVICES."),
        (
            "WPDASH_PUBLIC_URL",
            "dash.example.com",
            "WPDASH_PUBLIC_URL='dash.example.com' must be a URL starting with http:// or https://.",
        ),
    ],
)
def test_a_bad_alert_setting_stops_start_up_in_one_line_without_its_secret(tmp_path, variable, value, line):
    result = run_check(tmp_path, **{variable: value})

    assert result.returncode == EXIT_BAD_SETTING
    assert result.stderr == line + "\n"
    assert "hunter2" not in result.stderr


def test_the_mail_server_url_becomes_djangos_settings_with_a_timeout():
    config = env.email_url("EMAIL_URL", "", {"EMAIL_URL": "submission://alerts%40example.org:pa%3Ass@mail.example.org"})
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"], config["EMAIL_USE_TLS"]) == ("mail.example.org", 587, True)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("alerts@example.org", "pa:ss")
    assert config["EMAIL_TIMEOUT"] == 10
    assert env.email_url("EMAIL_URL", "smtp://127.0.0.1:25", {})["EMAIL_PORT"] == 25


def test_patterns_may_name_the_logs_they_look_in():
    patterns = env.alert_patterns("P", "", (), {"P": "db@mysql+journal:mariadb=[ERROR],fatal=PHP Fatal error"})
    assert patterns == [("db", "[ERROR]", ("mysql", "journal:mariadb")), ("fatal", "PHP Fatal error", ())]
    assert env.alert_patterns("P", "x=y", (), {"P": "none"}) == []


def test_the_public_url_defaults_to_the_dashboards_own_name_behind_tls():
    assert env.public_url("U", True, ["dash.example.com", "127.0.0.1"], 8000, {}) == "https://dash.example.com"
    assert env.public_url("U", False, ["localhost"], 8123, {}) == "http://127.0.0.1:8123"
    assert env.public_url("U", True, ["*"], 8000, {"U": "https://dash.example.com/"}) == "https://dash.example.com"
