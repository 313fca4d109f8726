"""The README's production guide: its commands, run on copies, give what the tests rely on."""

from __future__ import annotations

import grp
import os
import re
import stat
import subprocess
from pathlib import Path

from tests.support.deployment import USERADD, environment
from tests.support.servers import run_manage

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "README.md").read_text().split("\n## Production\n", 1)[1]


def commands(heading: str) -> list[str]:
    """The lines of the shell blocks under one heading of the guide."""
    part = GUIDE.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", part, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def run_on_copy(lines: list[str], production: str, copy: Path) -> None:
    """Run the guide's lines with sh, on a copy instead of the production file."""
    script = "\n".join(line.replace(production, str(copy)) for line in lines)
    subprocess.run(["sh", "-ec", script], env={**os.environ, "DASH": "dash.test.example"}, check=True, timeout=30)


def env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line))


def test_the_guide_creates_the_user_the_sudo_tests_use():
    assert f"useradd {' '.join(USERADD)}\n" in GUIDE


def test_every_file_the_guide_installs_is_in_deploy():
    named = set(re.findall(r"/opt/wpdash/(deploy/[\w@./-]*[\w@-])", GUIDE))

    assert named >= {"deploy/env.example", "deploy/wpdash.service", "deploy/nginx-wpdash.conf"}
    assert named >= {"deploy/wpdash-manage", "deploy/wpdash-worker@.service", "deploy/wpdash-watch.service"}
    assert named >= {"deploy/fail2ban/filter.d/wpdash.conf", "deploy/fail2ban/jail.d/wpdash.conf"}
    for relative in named:
        assert (REPO / relative).is_file(), relative


def test_the_settings_and_database_steps_give_an_env_check_deploy_accepts(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text((REPO / "deploy" / "env.example").read_text())
    steps = [line for line in commands("5. Settings") if line.startswith("sed -i")]
    steps += [
        line for line in commands("6. Database (optional: WordOps's MariaDB)") if line.startswith(("DBPASS=", "sed -i"))
    ]
    assert len(steps) == 4

    run_on_copy(steps, "/etc/wpdash/env", env_file)

    values = env_values(env_file)
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    assert values["DJANGO_ALLOWED_HOSTS"] == "dash.test.example,127.0.0.1,localhost"
    assert re.fullmatch(r"mysql://wpdash:[\w-]{32}@localhost/wpdash", values["DATABASE_URL"])
    secret = values.pop("DJANGO_SECRET_KEY")
    env = environment(tmp_path, {**values, "DJANGO_SECRET_KEY": "REPLACE-ME"})
    env["DJANGO_SECRET_KEY"] = secret
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_two_worker_steps_turn_on_redis_and_the_second_upstream(tmp_path):
    env_file, site = tmp_path / "env", tmp_path / "site"
    env_file.write_text((REPO / "deploy" / "env.example").read_text())
    site.write_text((REPO / "deploy" / "nginx-wpdash.conf").read_text())
    [redis, upstream] = [line for line in commands("Two workers") if line.startswith("sed -i")]

    run_on_copy([redis], "/etc/wpdash/env", env_file)
    run_on_copy([upstream], "/etc/nginx/sites-available/wpdash", site)

    assert env_values(env_file)["REDIS_URL"] == "redis://127.0.0.1:6379/1"
    assert "\n    server 127.0.0.1:8000;\n    server 127.0.0.1:8001;\n" in site.read_text()


def test_the_guide_checks_that_sudo_refuses_a_stop():
    assert (
        "sudo -u wpdash sudo -n systemctl stop nginx"
        in commands("12. Check that sudo allows restarts and nothing else")[0]
    )


def test_php_fpm_logs_are_made_readable_before_doctor_checks_them(tmp_path):
    # Step 13's doctor checks the php-fpm log; the command that lets adm read it must come
    # first, or the guide followed top to bottom ends in a FAIL.
    [loop] = [block for block in re.findall(r"```sh\n(.*?)```", GUIDE, flags=re.DOTALL) if "php*-fpm.log" in block]
    assert GUIDE.index(loop) < GUIDE.index("wpdash-manage doctor")
    logs = [tmp_path / "php8.2-fpm.log", tmp_path / "php8.3-fpm.log"]
    for log in logs:
        log.write_text("[05-Dec-2026 17:00:10] NOTICE: ready to handle connections\n")
        log.chmod(0o600)

    run_on_copy(loop.splitlines(), "/var/log/php", tmp_path / "php")  # the glob now matches the copies
    run_on_copy(loop.splitlines(), "/var/log/php", tmp_path / "none" / "php")  # no PHP at all: no error either

    for log in logs:
        assert (grp.getgrgid(log.stat().st_gid).gr_name, stat.S_IMODE(log.stat().st_mode)) == ("adm", 0o640)


def test_every_health_check_of_the_guide_comes_after_its_unit_and_retries_a_refused_connection():
    checks = [line for line in GUIDE.splitlines() if line.startswith("curl ") and "/healthz" in line]

    assert len(checks) == 2
    for check in checks:
        assert "--retry-connrefused" in check and "--retry " in check
    assert GUIDE.index("systemctl enable --now wpdash\n") < GUIDE.index(checks[0])
    assert GUIDE.index("systemctl enable --now wpdash-worker@8001") < GUIDE.index(checks[1])
