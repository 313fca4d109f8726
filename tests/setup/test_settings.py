"""Settings come from the environment; a bad value stops start-up naming the variable."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.servers import clean_environ, run_manage
from wpdash import env

REPO = Path(__file__).resolve().parents[2]


def run_check(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_manage(clean_environ(WPDASH_DATA_DIR=str(tmp_path / "data"), **variables), "check")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_URL", "oracle://scott:tiger@db/orcl"),
        ("DATABASE_URL", "not a url"),
        ("WPDASH_METRICS_SOURCE", "foo"),
        ("NETDATA_URL", "ftp://127.0.0.1:19999"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("WPDASH_SERVICES", "nginx;id"),
        ("WPDASH_SERVICES", "../../etc/passwd"),
        ("WPDASH_SERVICES", "-nginx"),
        ("WPDASH_LOGS", "nginx=relative/access.log"),
        ("WPDASH_LOGS", "../x=/var/log/x.log"),
        ("WPDASH_LOGS", "just-a-path"),
        ("WPDASH_RESTART_APPROVAL", "sometimes"),
        ("WPDASH_PROXY_UNITS", "nginx;id"),
        ("WPDASH_PROXY_UNITS", "-nginx"),
        ("WPDASH_SUDO", "2"),
        ("WPDASH_HTTPS", "please"),
        ("DJANGO_SECRET_KEY", "short"),
        ("WPDASH_JWT_ACCESS_MINUTES", "0"),
        ("WPDASH_JWT_ACCESS_MINUTES", "five"),
        ("WPDASH_WS_STALL_SECONDS", "0"),
        ("WPDASH_WS_STALL_SECONDS", "121"),
        ("WPDASH_WS_STALL_SECONDS", "30s"),
    ],
)
def test_it_refuses_to_start_with_a_bad_value_and_names_the_variable(tmp_path, variable, value):
    result = run_check(tmp_path, **{variable: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_it_starts_on_the_embedded_defaults(tmp_path):
    result = run_check(tmp_path)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    environment = clean_environ(
        WPDASH_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SECRET_KEY="x7!" + "k" * 20 + "Qz9#" + "m" * 30,
        DJANGO_ALLOWED_HOSTS="dash.example.com",
        WPDASH_HTTPS="on",
    )
    result = run_manage(environment, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_secret_key_is_generated_once_with_mode_0600(tmp_path):
    key_file = tmp_path / "secret_key"

    first = env.secret_key("DJANGO_SECRET_KEY", key_file, environ={})
    second = env.secret_key("DJANGO_SECRET_KEY", key_file, environ={})

    assert first == second
    assert len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_secret_key_comes_from_the_environment_when_given(tmp_path):
    key = "e" * 40

    assert env.secret_key("DJANGO_SECRET_KEY", tmp_path / "secret_key", environ={"DJANGO_SECRET_KEY": key}) == key
    assert not (tmp_path / "secret_key").exists()


def test_an_empty_secret_key_file_is_refused(tmp_path):
    (tmp_path / "secret_key").write_text("\n")

    with pytest.raises(ImproperlyConfigured, match="secret_key"):
        env.secret_key("DJANGO_SECRET_KEY", tmp_path / "secret_key", environ={})


def test_two_processes_starting_together_share_one_generated_key(tmp_path):
    code = (
        "import sys; from pathlib import Path; from wpdash import env; "
        "print(env.secret_key('X', Path(sys.argv[1]), {}))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "key")], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    keys = {process.communicate(timeout=30)[0].strip() for process in processes}

    assert len(keys) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["key"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("raw", "expected"), [("on", True), ("TRUE", True), ("1", True), ("off", False), ("no", False), ("", False)]
)
def test_booleans_accept_the_usual_spellings(raw, expected):
    assert env.envbool("X", False, environ={"X": raw}) is expected


def test_the_allowlist_keeps_order_and_drops_repeats():
    assert env.service_allowlist("S", [], environ={"S": "nginx, php8.2-fpm,nginx,getty@tty1"}) == [
        "nginx",
        "php8.2-fpm",
        "getty@tty1",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", ["nginx"]), ("nginx, haproxy.service,nginx", ["nginx", "haproxy.service"]), ("none", []), ("NONE", [])],
)
def test_proxy_units_are_unit_names_or_none(raw, expected):
    assert env.unit_names("P", ["nginx"], environ={"P": raw}) == expected


def test_log_sources_parse_name_path_pairs():
    assert env.log_sources("L", {}, environ={"L": "site-a=/srv/a/../logs/a.log, php=/var/log/php8.2-fpm.log"}) == {
        "site-a": "/srv/logs/a.log",
        "php": "/var/log/php8.2-fpm.log",
    }


@pytest.mark.parametrize("url", ["sqlite:////tmp/x.sqlite3", "mysql://root@127.0.0.1:3306/test", "postgres://u@h/db"])
def test_database_urls_of_known_schemes_are_accepted(url):
    assert env.database("DATABASE_URL", url, environ={})["ENGINE"].startswith("django.db.backends.")


def test_mariadb_gets_utf8mb4():
    config = env.database("DATABASE_URL", "mariadb://root@127.0.0.1:3306/test", environ={})

    assert config["ENGINE"] == "django.db.backends.mysql"
    assert config["OPTIONS"]["charset"] == "utf8mb4"
