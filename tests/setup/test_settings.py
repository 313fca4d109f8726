"""Settings come from the environment; a bad value stops start-up naming the variable."""

from __future__ import annotations

import ast
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.servers import clean_environ, free_port, run_manage
from wpdash import env
from wpdash.env import EXIT_BAD_SETTING

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


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
        ("WPDASH_TIME_ZONE", "Mars/Base"),
        ("WPDASH_TIME_ZONE", "../../etc/passwd"),
        ("DJANGO_ALLOWED_HOSTS", "https://dash.example.com"),
        ("DJANGO_ALLOWED_HOSTS", "dash.example.com:8000"),
        ("WPDASH_SYSTEMCTL", "systemctl"),
        ("WPDASH_BIND", "localhost"),
        ("WPDASH_PORT", "70000"),
        ("WPDASH_LOG_SEARCH_BYTES", "1"),
        ("WPDASH_SITES_DIR", "sites-enabled"),
        ("WPDASH_NGINX_CONF", "nginx.conf"),
        ("WPDASH_SITES_REBUILD_BYTES", "1"),
        ("WPDASH_SITES_REBUILD_BYTES", "1GiB"),
    ],
)
def test_it_refuses_to_start_with_a_bad_value_in_one_line_naming_the_variable(tmp_path, variable, value):
    result = run_check(tmp_path, **{variable: value})

    assert result.returncode == EXIT_BAD_SETTING
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(variable)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("WPDASH_SESSION_SECONDS", "120", "WPDASH_SESSION_SECONDS=120: at least 300, at most 2592000"),
        ("WPDASH_LOGIN_FAILURE_LIMIT", "0", "WPDASH_LOGIN_FAILURE_LIMIT=0: at least 1, at most 1000"),
        ("WPDASH_HSTS_SECONDS", "-1", "WPDASH_HSTS_SECONDS=-1: at least 0, at most 63072000"),
        (
            "WPDASH_RESTART_APPROVAL_MINUTES",
            "0",
            "WPDASH_RESTART_APPROVAL_MINUTES=0: at least 1, at most 10080",
        ),
        (
            "WPDASH_JWT_ACCESS_MINUTES",
            "five",
            "WPDASH_JWT_ACCESS_MINUTES='five': not a whole number (at least 1, at most 60)",
        ),
        (
            "WPDASH_TIME_ZONE",
            "Mars/Base",
            "WPDASH_TIME_ZONE='Mars/Base': not a time zone of the IANA database; "
            "use a name such as UTC or Europe/Berlin.",
        ),
    ],
)
def test_the_line_says_the_allowed_range(tmp_path, variable, value, line):
    result = run_check(tmp_path, WPDASH_HTTPS="on", **{variable: value})

    assert result.stderr == line + "\n"


def test_daphne_stops_on_a_bad_setting_with_the_same_one_line(tmp_path):
    daphne = subprocess.run(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(free_port()), "wpdash.asgi:application"],
        cwd=REPO,
        env=clean_environ(WPDASH_DATA_DIR=str(tmp_path / "data"), WPDASH_SESSION_SECONDS="120"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert daphne.returncode == EXIT_BAD_SETTING
    assert daphne.stderr == "WPDASH_SESSION_SECONDS=120: at least 300, at most 2592000\n"


def test_bin_run_stops_on_a_bad_setting_before_serving_with_the_same_one_line(tmp_path):
    run = subprocess.run(
        [str(REPO / "bin" / "run")],
        cwd=REPO,
        env=clean_environ(WPDASH_DATA_DIR=str(tmp_path / "data"), WPDASH_TIME_ZONE="Mars/Base"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == EXIT_BAD_SETTING
    assert run.stderr.splitlines() == [
        "WPDASH_TIME_ZONE='Mars/Base': not a time zone of the IANA database; use a name such as UTC or Europe/Berlin."
    ]
    assert "running" not in run.stdout


def test_the_readme_lists_every_minimum_and_maximum_of_the_settings():
    """Each env.envint() in settings.py, with its bounds, against the README's settings table."""
    table = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {name: line for line in table.splitlines() for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line)}
    bounded = list(integer_settings())

    assert len(bounded) >= 9
    for name, minimum, maximum in bounded:
        shown = re.findall(r"\d[\d,]*", rows[name])
        numbers = {int(number.replace(",", "")) for number in shown}
        assert minimum in numbers and maximum in numbers, (name, minimum, maximum, rows[name])


def integer_settings():
    """(name, minimum, maximum) of every env.envint() call in wpdash/settings.py; each has both."""
    tree = ast.parse((REPO / "wpdash" / "settings.py").read_text())
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "envint":
            bounds = {keyword.arg: constant(keyword.value) for keyword in call.keywords}
            yield constant(call.args[0]), bounds["minimum"], bounds["maximum"]


def constant(node: ast.expr):
    """A literal, or a product of literals (7 * 24 * 60)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return constant(node.left) * constant(node.right)
    return ast.literal_eval(node)


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
