"""The `systemctl show` parser on every captured output in tests/fixtures/systemd/."""

from __future__ import annotations

import random

import pytest

from server_monitor.adapters import process
from server_monitor.adapters.systemd import ServiceManagerUnavailable, parse_show, status_from_block, statuses_from_show
from server_monitor.workflows import verify
from tests.support.captures import FIXTURES, capture
from wpdash.settings import DEFAULT_SERVICES


def by_name(statuses):
    return {status.name: status for status in statuses}


def test_every_fixture_file_is_covered_here():
    # A new capture in the folder should get a test below; this names the ones known.
    assert {path.name for path in FIXTURES.iterdir()} == {
        "is-system-running.txt",
        "restart-failing-unit.txt",
        "restart-ok.txt",
        "restart-unknown-unit.txt",
        "show-allowlist-running.txt",
        "show-as-unprivileged-user.txt",
        "show-failed-unit.txt",
        "show-nginx-all-properties.txt",
        "show-one-stopped.txt",
        "sudo-no-rule.txt",
        "timestamp-formats.txt",
    }


def test_it_lists_the_installed_units_of_the_allowlist_once_each():
    shown = capture("show-allowlist-running.txt")

    statuses = statuses_from_show(DEFAULT_SERVICES, shown.text, now=shown.uptime)

    assert [status.name for status in statuses] == ["nginx", "php8.2-fpm", "mariadb", "redis-server", "netdata"]
    assert by_name(statuses)["mariadb"].unit == "mariadb.service"  # mysql, its alias, is not listed again


def test_it_reads_pid_memory_and_uptime_from_the_monotonic_stamp():
    shown = capture("show-allowlist-running.txt")

    nginx = by_name(statuses_from_show(DEFAULT_SERVICES, shown.text, now=shown.uptime))["nginx"]

    assert (nginx.active_state, nginx.sub_state, nginx.main_pid, nginx.memory_bytes) == (
        "active",
        "running",
        337,
        3887104,
    )
    assert nginx.uptime_seconds == int(37.21 - 21.977062)  # /proc/uptime minus ActiveEnterTimestampMonotonic


def test_an_alias_alone_answers_with_its_units_id():
    shown = capture("show-allowlist-running.txt")

    statuses = statuses_from_show(["mysql"], shown.text, now=shown.uptime)

    assert [(status.name, status.unit, status.main_pid) for status in statuses] == [("mysql", "mariadb.service", 284)]


def test_it_depends_neither_on_the_order_of_blocks_nor_of_properties():
    shown = capture("show-allowlist-running.txt")
    blocks = shown.text.split("\n\n")
    shuffler = random.Random(7)
    shuffler.shuffle(blocks)
    shuffled = []
    for block in blocks:
        lines = block.strip("\n").split("\n")
        shuffler.shuffle(lines)
        shuffled.append("\n".join(lines))

    assert statuses_from_show(DEFAULT_SERVICES, "\n\n".join(shuffled), now=shown.uptime) == statuses_from_show(
        DEFAULT_SERVICES, shown.text, now=shown.uptime
    )


def test_a_not_found_block_means_not_installed_with_no_memory():
    shown = capture("show-allowlist-running.txt")
    blocks = {block["Id"]: block for block in parse_show(shown.text)}

    postfix = status_from_block("postfix", blocks["postfix.service"], now=shown.uptime)

    assert not postfix.installed
    assert (postfix.main_pid, postfix.memory_bytes, postfix.uptime_seconds) == (None, None, None)


def test_a_stopped_unit_has_no_uptime_although_its_stamp_is_still_there():
    shown = capture("show-one-stopped.txt")

    statuses = by_name(statuses_from_show(["redis-server", "nginx"], shown.text, now=shown.uptime))

    redis = statuses["redis-server"]
    assert (redis.active_state, redis.sub_state, redis.main_pid, redis.memory_bytes) == ("inactive", "dead", None, None)
    assert redis.active_enter_usec == 22798765 and redis.uptime_seconds is None
    assert statuses["nginx"].uptime_seconds == int(39.47 - 21.977062)


def test_a_failed_unit_is_listed_as_failed_without_uptime():
    shown = capture("show-failed-unit.txt")

    (nginx,) = statuses_from_show(["nginx"], shown.text, now=shown.uptime)

    assert (nginx.active_state, nginx.sub_state, nginx.uptime_seconds, nginx.main_pid) == (
        "failed",
        "failed",
        None,
        None,
    )
    assert nginx.state == "failed (failed)"


def test_it_reads_its_properties_among_all_of_them_and_keeps_values_holding_equals_signs():
    (block,) = parse_show(capture("show-nginx-all-properties.txt").text)

    nginx = status_from_block("nginx", block, now=60.0)

    assert (nginx.main_pid, nginx.memory_bytes, nginx.uptime_seconds) == (920, 2355200, int(60.0 - 49.074211))
    assert block["ExecStart"].startswith("{ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -g daemon on;")
    assert block["CPUWeight"] == "[not set]"


def test_output_missing_a_property_it_needs_is_an_error_not_a_guess():
    (block,) = parse_show(capture("show-as-unprivileged-user.txt").text)
    assert block == {"MainPID": "920", "MemoryCurrent": "2355200", "Id": "nginx.service", "ActiveState": "active"}

    with pytest.raises(ServiceManagerUnavailable, match="LoadState"):
        status_from_block("nginx", block, now=60.0)


def test_wall_clock_timestamps_in_any_zone_play_no_part_in_uptime():
    # The file holds the same property twice: as printed in CET, and with --timestamp=unix.
    cet, unix = (line.split("=", 1)[1] for line in capture("timestamp-formats.txt").text.splitlines())
    assert parse_show(f"ActiveEnterTimestamp={cet}\n") == [{"ActiveEnterTimestamp": "Sun 2026-11-22 04:05:41 CET"}]
    base = {
        "Id": "nginx.service",
        "LoadState": "loaded",
        "ActiveState": "active",
        "SubState": "running",
        "MainPID": "1",
        "MemoryCurrent": "1",
        "ActiveEnterTimestampMonotonic": "1000000",
    }
    assert unix == "@1795316741"

    in_cet = status_from_block("nginx", {**base, "ActiveEnterTimestamp": cet}, now=11.0)
    in_unix = status_from_block("nginx", {**base, "ActiveEnterTimestamp": unix}, now=11.0)

    assert in_cet.uptime_seconds == in_unix.uptime_seconds == 10


def test_a_restart_that_changed_mainpid_and_stamp_is_judged_a_success():
    # restart-ok.txt: MainPID before, the restart's exit code, then MainPID and stamp after.
    ok = capture("restart-ok.txt")
    before_pid, after_block = ok.text.split("\n", 1)
    common = {"Id": "nginx.service", "LoadState": "loaded", "ActiveState": "active", "SubState": "running"}
    common |= {"MemoryCurrent": "[not set]"}
    before = status_from_block(
        "nginx", {**common, **parse_show(before_pid)[0], "ActiveEnterTimestampMonotonic": "21977062"}, 40
    )
    after = status_from_block("nginx", {**common, **parse_show(after_block)[0]}, now=ok.uptime)

    outcome = verify.judge(before, after, process.RunResult(exit_code=ok.exits[0], stdout="", stderr=""))

    assert (before.main_pid, after.main_pid, after.active_enter_usec) == (849, 890, 47004876)
    assert outcome["status"] == "succeeded"


def test_a_restart_that_exited_1_is_judged_a_failure():
    failing = capture("restart-failing-unit.txt")
    (block,) = parse_show(capture("show-failed-unit.txt").text)
    unit = status_from_block("nginx", block, now=42.42)

    outcome = verify.judge(unit, unit, process.RunResult(exit_code=failing.exits[0], stdout="", stderr=failing.text))

    assert outcome == {"status": "failed", "note": "systemctl restart exited with 1"}


@pytest.mark.parametrize("garbage", ["<html>502 Bad Gateway</html>\n", "\x00\x01\x02\n", "=novalue\n", "Id nginx\n"])
def test_anything_but_key_value_lines_is_refused(garbage):
    with pytest.raises(ServiceManagerUnavailable, match="not KEY=VALUE"):
        parse_show(garbage)


def test_an_alias_missing_from_names_is_matched_by_its_position():
    shown = capture("show-allowlist-running.txt")
    text = shown.text.replace("Names=mariadb.service mysql.service mysqld.service", "Names=mariadb.service")

    statuses = by_name(statuses_from_show(DEFAULT_SERVICES, text, now=shown.uptime))

    assert statuses["mariadb"].unit == "mariadb.service" and "mysql" not in statuses


def test_output_with_a_block_missing_is_refused():
    shown = capture("show-allowlist-running.txt")
    without_netdata = shown.text.rsplit("\n\n", 1)[0]

    with pytest.raises(ServiceManagerUnavailable, match="no block for netdata"):
        statuses_from_show(DEFAULT_SERVICES, without_netdata, now=shown.uptime)
