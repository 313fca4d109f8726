"""deploy/env.example is the production environment: check --deploy is clean with it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.support.deployment import environment, example_lines
from tests.support.servers import REPO, missing_server, run_manage

# Read alike by systemd's EnvironmentFile= and by sh's `.`: no quoting, no expansion.
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_.,:/@=+-]*$")


def test_check_deploy_is_clean_with_the_example_values(tmp_path):
    result = run_manage(
        environment(tmp_path, example_lines(commented=False)), "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_optional_settings_are_valid_once_uncommented(tmp_path):
    values = {**example_lines(commented=False), **example_lines(commented=True)}
    assert {"DATABASE_URL", "REDIS_URL", "WPDASH_SERVICES", "WPDASH_LOGS"} <= values.keys()

    result = run_manage(environment(tmp_path, values), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_placeholder_secret_stops_start_up(tmp_path):
    env = environment(tmp_path, example_lines(commented=False))
    env["DJANGO_SECRET_KEY"] = "REPLACE-ME"

    result = run_manage(env, "check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("commented", [False, True])
def test_every_value_reads_the_same_to_systemd_and_to_sh(commented):
    for key, value in example_lines(commented=commented).items():
        assert PLAIN_VALUE.match(value), f"{key}={value} needs quoting somewhere"


def test_wpdash_manage_runs_manage_py_with_the_settings_from_the_file(tmp_path):
    if os.geteuid() != 0 or shutil.which("sudo") is None:
        missing_server("wpdash-manage runs as root and switches user with sudo")
    env_file = tmp_path / "env"
    values = environment(tmp_path, example_lines(commented=False))
    env_file.write_text("".join(f"{key}={values[key]}\n" for key in example_lines(commented=False)))
    # The real command switches to wpdash; here to root, the one user that can run
    # this machine's Python. What is tested is that the file, not the caller's
    # environment, makes the settings.
    caller = {"PATH": os.environ["PATH"], "WPDASH_ENV_FILE": str(env_file), "WPDASH_USER": "root"}
    caller["DJANGO_ALLOWED_HOSTS"] = "not-from-the-file.example"

    result = subprocess.run(
        [
            str(REPO / "deploy" / "wpdash-manage"),
            "shell",
            "-c",
            "from django.conf import settings as s; print(s.ALLOWED_HOSTS, s.HTTPS)",
        ],
        env=caller,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "['dash.example.com', '127.0.0.1', 'localhost'] True"
