"""A configured log name never serves another file: links and hard links are refused.

The attack of issue 24: whoever can write in a log's folder swaps the log for a link to
a secret (`ln -sf SECRET tmp && mv -T tmp link.log`), and a read-only viewer reads it.
Real files in tmp_path; the REST tail and search through the API, the live tail
through its FileFollower (a real daphne is in test_log_links_live.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from server_monitor.adapters.logs import paths, rotation
from server_monitor.adapters.logs.follow import FileFollower
from server_monitor.workflows.logs import sources
from tests.support.logs import nginx_line, run_as_nobody

SECRET = "DJANGO_SECRET_KEY=not-for-viewers-0123456789abcdef"


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file the attacker wants, outside the log's folder (as /etc/wpdash/env)."""
    folder = tmp_path / "etc-wpdash"
    folder.mkdir()
    path = folder / "env"
    path.write_text(f"{SECRET}\nDATABASE_URL=mysql://wpdash:hunter2@localhost/wpdash\n")
    return path


@pytest.fixture
def link_log(settings, tmp_path) -> Path:
    """`link=<dir>/link.log`, a real log to begin with."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "link.log"
    path.write_text("".join(f"{nginx_line(n)}\n" for n in range(5)))
    settings.WPDASH_LOGS = {"link": str(path)}
    return path


def swap_for_link(log: Path, target: Path) -> None:
    """What `ln -sf TARGET tmp && mv -T tmp LOG` does: the name now a link, atomically."""
    temporary = log.with_name("tmp")
    os.symlink(target, temporary)
    os.replace(temporary, log)


def test_the_rest_tail_of_a_log_swapped_for_a_link_says_why_and_shows_nothing(viewer_client, link_log, secret):
    swap_for_link(link_log, secret)

    response = viewer_client.get("/api/v1/server/logs/link?lines=50")

    assert response.status_code == 200
    body = response.json()
    assert (body["lines"], body["available"]) == ([], False)
    assert body["reason"].startswith(f"{link_log} is a symbolic link, and wpdash does not follow links")
    assert "Set WPDASH_LOGS to the file itself" in body["reason"]
    assert "not-for-viewers" not in response.content.decode() and str(secret) not in response.content.decode()


def test_a_search_of_a_log_swapped_for_a_link_finds_nothing(viewer_client, link_log, secret):
    swap_for_link(link_log, secret)

    body = viewer_client.get("/api/v1/server/logs/link?lines=50&q=SECRET").json()

    assert (body["lines"], body["available"], body["scanned_bytes"]) == ([], False, 0)
    assert "is a symbolic link" in body["reason"]


def test_the_source_list_says_why_and_gives_no_size_of_the_target(viewer_client, link_log, secret):
    swap_for_link(link_log, secret)

    (source,) = viewer_client.get("/api/v1/server/logs").json()

    assert (source["exists"], source["readable"], source["size"], source["modified"]) == (True, False, None, None)
    assert "is a symbolic link" in source["reason"]


def test_a_hard_link_to_a_secret_is_refused(link_log, secret):
    # Root (or anyone, where fs.protected_hardlinks=0) can link a file it does not own.
    os.link(secret, link_log.with_name("tmp"))
    os.replace(link_log.with_name("tmp"), link_log)

    found = sources.get_source("link").tail(50)

    assert (found.lines, found.available) == ([], False)
    assert found.reason.startswith(f"{link_log} has 2 names (hard links)")
    assert f"find / -xdev -samefile {link_log}" in found.reason
    status = sources.get_source("link").status()
    assert (status.readable, status.size) == (False, None)  # not even the secret's size


def test_a_folder_on_the_way_swapped_for_a_link_is_refused(settings, tmp_path, secret):
    folder = tmp_path / "logs" / "nginx"
    folder.mkdir(parents=True)
    (folder / "access.log").write_text("a real line\n")
    settings.WPDASH_LOGS = {"nginx-access": str(folder / "access.log")}
    # The attacker's folder holds the secret under the log's name; theirs replaces ours.
    (secret.parent / "access.log").write_bytes(secret.read_bytes())
    folder.rename(tmp_path / "logs" / "nginx.old")
    os.symlink(secret.parent, folder)

    found = sources.get_source("nginx-access").tail(50)

    assert (found.lines, found.available) == ([], False)
    assert found.reason.startswith(f"{folder}, on the way to {folder / 'access.log'}, is a symbolic link")


def test_a_log_in_a_folder_others_may_pass_but_not_list_is_read():
    # O_PATH needs no read permission: a 0711 folder (as /var/lib/wpdash) is passed.
    public = Path(tempfile.mkdtemp(prefix="wpdash-links-"))  # tmp_path is closed to nobody
    try:
        public.chmod(0o755)
        passable = public / "passable"
        passable.mkdir(mode=0o711)
        log = passable / "app.log"
        log.write_text("one\ntwo\n")
        log.chmod(0o644)

        found = run_as_nobody(lambda: sources.FileSource("app", str(log)).tail(5))
    finally:
        shutil.rmtree(public)

    assert (found.lines, found.available) == (["one", "two"], True)


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_what_is_not_a_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / "app.log"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()

    with pytest.raises(paths.LogUnavailable, match="is not a regular file"):
        paths.open_log_file(str(path))


def test_the_follower_refuses_a_link_swapped_in_at_rotation_and_keeps_the_old_file(link_log, secret):
    follower = FileFollower(str(link_log))
    follower.start(50)
    writer = os.open(link_log, os.O_WRONLY | os.O_APPEND)
    os.write(writer, b"before the swap\n")
    assert follower.poll().lines == ["before the swap"]

    swap_for_link(link_log, secret)
    os.write(writer, b"the writer still writes to its file\n")
    result = follower.poll()

    assert result.lines == ["the writer still writes to its file"]
    assert result.reason is not None and result.reason.startswith(f"{link_log} is a symbolic link")
    with secret.open("a") as more:
        more.write("MORE_SECRET=1\n")
    assert all("SECRET" not in line for _ in range(3) for line in follower.poll().lines)
    assert len(follower.open_descriptors) == 1  # the old log only
    os.close(writer)
    follower.close()


def test_the_follower_refuses_a_hard_link_swapped_in(link_log, secret):
    follower = FileFollower(str(link_log))
    follower.start(50)
    os.link(secret, link_log.with_name("tmp"))
    os.replace(link_log.with_name("tmp"), link_log)

    result = follower.poll()

    assert result.lines == []
    assert result.reason is not None and "has 2 names" in result.reason
    follower.close()


def test_a_rotated_copy_that_is_a_link_is_not_read(tmp_path, secret):
    log = tmp_path / "app.log"
    log.write_text("kept\n")
    os.symlink(secret, tmp_path / "app.log.1")
    other_secret = secret.with_name("other")
    other_secret.write_text(SECRET)
    os.link(other_secret, tmp_path / "app.log.2")

    assert rotation.open_rotated_copy(str(log), "app.log.1") is None
    assert rotation.open_rotated_copy(str(log), "app.log.2") is None


# --- a link configured on purpose: resolved once at start-up ---------------------------


def test_a_configured_link_is_pinned_to_its_target_at_start_up(tmp_path, secret):
    real = tmp_path / "var-log" / "app.log"
    real.parent.mkdir()
    real.write_text("the real log\n")
    link = tmp_path / "app.log"
    os.symlink(real, link)

    logs, pins, notes = paths_pinned({"app": str(link), "mysql": "journal:mariadb.service"})

    assert logs == {"app": str(real), "mysql": "journal:mariadb.service"}
    assert pins == {str(real): str(link)}
    assert notes == [
        (
            logging.INFO,
            f"WPDASH_LOGS: app={link} goes through the symbolic link {link}: {real} is read from now on, and a "
            "change of the link takes effect at the next restart.",
        )
    ]
    # The link changed after start-up: the pinned target is still what is read.
    swap_for_link(link, secret)
    assert sources.FileSource("app", logs["app"]).tail(5).lines == ["the real log"]


def test_a_folder_link_in_the_middle_of_a_configured_path_is_pinned_too(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "app.log").write_text("x\n")
    os.symlink("real", tmp_path / "current")  # relative, as `ln -s real current` makes it

    logs, _, _ = paths_pinned({"app": str(tmp_path / "current" / "app.log")})

    assert logs == {"app": str(tmp_path / "real" / "app.log")}


def test_a_link_others_could_have_made_is_not_followed_even_at_start_up(tmp_path, secret):
    # Planted before a restart by whoever may write in the folder: not trusted.
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    link = folder / "app.log"
    os.symlink(secret, link)

    logs, pins, notes = paths_pinned({"app": str(link)})

    assert (logs, pins) == ({"app": str(link)}, {})
    ((level, note),) = notes
    assert level == logging.WARNING
    assert f"{link}, but group root and everyone may change {folder}: it is not followed" in note
    assert "is a symbolic link" in sources.FileSource("app", str(link)).tail(5).reason


def test_a_link_owned_by_another_user_is_not_followed(tmp_path, secret):
    link = tmp_path / "app.log"
    os.symlink(secret, link)
    os.lchown(link, 65534, 65534)  # nobody's link, in a folder only root may change

    _, pins, notes = paths_pinned({"app": str(link)})

    assert pins == {}
    assert f"goes through the symbolic link {link}, but user nobody owns it: it is not followed" in notes[0][1]


def paths_pinned(logs: dict[str, str]):
    from wpdash import env

    return env.pin_log_links(logs)


def test_a_configured_path_is_normalised_so_the_opener_can_walk_it(tmp_path):
    from wpdash import env

    (tmp_path / "app.log").write_text("x\n")
    written = f"/{tmp_path}/./app.log"  # "//tmp/…": normpath keeps the double slash

    (path,) = env.log_sources("WPDASH_LOGS", {}, {"WPDASH_LOGS": f"app={written}"}).values()

    assert path == str(tmp_path / "app.log")
    assert sources.FileSource("app", path).tail(5).lines == ["x"]
