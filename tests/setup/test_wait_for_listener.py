"""`manage.py wait_for_listener`: the units' ExecStartPost, so `systemctl start` returns once
daphne listens and the guide's health check right after it never meets "Connection refused"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest
import requests
from django.core.management import CommandError, call_command

from server_monitor.management.commands import wait_for_listener
from tests.support.servers import ASGI_APP, DAPHNE_OPTIONS, REPO, free_port, run_manage, wait_until


def test_it_waits_while_the_port_refuses_and_returns_once_it_listens(monkeypatch):
    attempts: list[tuple[str, int]] = []
    real_connect = socket.create_connection

    def counted(address, *args, **kwargs):
        attempts.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(wait_for_listener.socket, "create_connection", counted)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = server.getsockname()[1]
        outcome: list[BaseException | None] = []
        waiter = threading.Thread(target=lambda: outcome.append(call_wait(port)))
        waiter.start()
        wait_until(lambda: len(attempts) >= 3, timeout=10, message="three refused attempts")
        still_waiting = waiter.is_alive()
        server.listen()
        waiter.join(timeout=10)

    assert still_waiting
    assert outcome == [None]
    assert set(attempts) == {("127.0.0.1", port)}


def call_wait(port: int) -> BaseException | None:
    try:
        call_command("wait_for_listener", "--port", str(port), "--timeout", "20")
    except BaseException as error:  # handed to the test's thread
        return error
    return None


def test_it_gives_up_after_its_timeout_naming_the_address():
    port = free_port()  # nothing listens there

    with pytest.raises(CommandError, match=rf"Nothing accepts connections on 127\.0\.0\.1:{port} after 0\.3 s\."):
        call_command("wait_for_listener", "--port", str(port), "--timeout", "0.3")


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "70000"], ["--port", "8000", "--timeout", "0"]])
def test_a_port_or_timeout_out_of_range_is_refused(args):
    with pytest.raises(CommandError, match=r"--port must be 1\.\.65535"):
        call_command("wait_for_listener", *args)


def test_after_it_returns_a_daphne_started_just_before_answers_at_once(tmp_path):
    # The unit's order: daphne is started (Type=exec), then ExecStartPost runs at once.
    env = {**os.environ, "WPDASH_DATA_DIR": str(tmp_path), "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    assert run_manage(env, "migrate", "--noinput").returncode == 0
    port = free_port()
    argv = [sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-b", "127.0.0.1", "-p", str(port), ASGI_APP]
    daphne = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        waited = run_manage(env, "wait_for_listener", "--port", str(port))

        assert waited.returncode == 0, waited.stderr
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json() == {"status": "ok"}
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
