"""nginx's configuration read as nginx reads it, and hostile or broken input answered with a
reason naming the file and line, never a crash or a hang."""

from __future__ import annotations

import os
import shutil
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies

from server_monitor.adapters.nginx import config
from server_monitor.adapters.nginx.config import ConfigError, Reader, parse, tokenize
from server_monitor.adapters.nginx.sites import read_main, read_site, read_sites
from tests.support.logs import run_as_nobody


def words(text: str) -> list[str]:
    return [token.text for token in tokenize(text, "test.conf")]


def test_it_reads_quotes_escapes_comments_and_variables_as_nginx_does():
    text = (
        "log_format rt_cache '$remote_addr [$time_local] '  # the first part\n"
        "  '\"$request\" ${status}x';\n"
        'more_set_headers "X-Powered-By : WordOps";\n'
        "location ~ \\.php$ { return 204; }\n"
        "set $a a#b;\n"
    )

    directives = parse(text, "test.conf")

    assert directives[0].args == ("rt_cache", "$remote_addr [$time_local] ", '"$request" ${status}x')
    assert directives[1].args == ("X-Powered-By : WordOps",)
    assert (directives[2].name, directives[2].args) == ("location", ("~", "\\.php$"))
    assert directives[2].block is not None and directives[2].block[0].args == ("204",)
    assert directives[3].args == ("$a", "a#b")  # a # inside a word is not a comment
    assert [d.line for d in directives] == [1, 3, 4, 5]


def test_a_closing_brace_inside_a_word_is_part_of_it_as_in_nginx():
    assert words("a} b;") == ["a}", "b", ";"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("server {\n listen 80;\n", "block 'server' is never closed"),
        ("listen 80;\n}\n", "line 2: unexpected '}'"),
        ("server_name 'unterminated;\n", "line 1: a quoted string is never closed"),
        ("a 'b'c;", "unexpected 'c' after a quoted string"),
        ("listen 80\n", "directive 'listen' has no ';'"),
        (";", "unexpected ';'"),
        ("{ }", "unexpected '{'"),
        ("server { listen 80 }", "directive 'listen' has no ';'"),
        ("a {" * 40 + "}" * 40, "blocks nested more than 32 deep"),
    ],
)
def test_broken_syntax_is_a_config_error_naming_file_and_line(text, says):
    with pytest.raises(ConfigError) as raised:
        parse(text, "/etc/nginx/sites-enabled/broken")

    assert raised.value.detail.startswith("/etc/nginx/sites-enabled/broken line ")
    assert says in raised.value.detail


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.text(alphabet=string.printable + "{};'\"\\$#é\x00", max_size=300))
def test_no_text_makes_the_parser_raise_anything_but_a_config_error(text):
    try:
        parse(text, "fuzz.conf")
    except ConfigError as error:
        assert error.detail.startswith("fuzz.conf line ")


def test_includes_follow_globs_sorted_relative_to_the_main_files_folder(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("b 2;\n")
    (tmp_path / "conf.d" / "a.conf").write_text("a 1;\n")
    (tmp_path / "conf.d" / "ignored.txt").write_text("x 0;\n")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "php.conf").write_text("fastcgi_pass php;\n")
    (tmp_path / "nginx.conf").write_text("http {\n include conf.d/*.conf;\n server { include common/php.conf; }\n}\n")

    directives = Reader(str(tmp_path)).read(str(tmp_path / "nginx.conf"))

    (http,) = config.blocks(directives, "http")
    assert [d.name for d in http] == ["a", "b", "server"]
    assert http[2].block is not None and http[2].block[0].name == "fastcgi_pass"
    assert http[0].file == str(tmp_path / "conf.d" / "a.conf")


def test_an_include_loop_a_missing_file_and_a_broken_include_are_problems_not_failures(tmp_path):
    (tmp_path / "self.conf").write_text("include self.conf;\nkept 1;\n")
    (tmp_path / "broken.conf").write_text("server {\n")
    (tmp_path / "nginx.conf").write_text(
        "include self.conf;\ninclude missing.conf;\ninclude broken.conf;\ninclude nothing-*.conf;\nlast 1;\n"
    )
    reader = Reader(str(tmp_path))

    directives = reader.read(str(tmp_path / "nginx.conf"))

    assert [d.name for d in directives] == ["kept", "last"]
    assert any("includes itself" in problem for problem in reader.problems)
    assert any("missing.conf does not exist" in problem for problem in reader.problems)
    assert any("block 'server' is never closed" in problem for problem in reader.problems)
    assert len(reader.problems) == 3  # a pattern that matches nothing is fine, as for nginx


def test_includes_nested_past_the_limit_stop_there(tmp_path):
    for depth in range(30):
        (tmp_path / f"{depth}.conf").write_text(f"include {depth + 1}.conf;\nlevel {depth};\n")
    reader = Reader(str(tmp_path))

    directives = reader.read(str(tmp_path / "0.conf"))

    assert len(directives) == config.MAX_INCLUDE_DEPTH + 1
    assert any("nested more than" in problem for problem in reader.problems)


def test_a_fifo_a_device_a_directory_and_a_huge_file_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer, forever
    huge = tmp_path / "huge.conf"
    huge.write_bytes(b"# " + b"x" * config.MAX_FILE_BYTES)
    (tmp_path / "dir.conf").mkdir()
    (tmp_path / "zero.conf").symlink_to("/dev/zero")

    for name, says in [
        ("fifo.conf", "not a regular file"),
        ("zero.conf", "not a regular file"),
        ("dir.conf", "not a regular file"),
        ("huge.conf", "larger than 1024 KiB"),
        ("absent.conf", "does not exist"),
    ]:
        with pytest.raises(ConfigError, match=says):
            config.parse_file(str(tmp_path / name))


def test_binary_garbage_is_a_reason_not_a_crash(tmp_path):
    garbage = tmp_path / "garbage"
    garbage.write_bytes(bytes(range(256)) * 50)
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "garbage.example").symlink_to(garbage)

    found = read_sites(str(tmp_path / "sites"), read_main(str(tmp_path / "nginx.conf")))

    (site,) = found.sites
    assert site.problem is not None and site.problem.startswith(f"{tmp_path}/sites/garbage.example line ")


def test_a_wordops_site_file_gives_names_logs_format_root_and_certificate(tmp_path):
    (tmp_path / "www" / "conf").mkdir(parents=True)
    (tmp_path / "www" / "conf" / "ssl.conf").write_text(
        "listen 443 ssl;\nssl_certificate     /etc/letsencrypt/live/example.com/fullchain.pem;\n"
    )
    site = tmp_path / "example.com"
    site.write_text(
        "server {\n    server_name example.com   www.example.com;\n"
        "    access_log /var/log/nginx/example.com.access.log rt_cache;\n"
        "    error_log /var/log/nginx/example.com.error.log;\n"
        "    root /var/www/example.com/htdocs;\n"
        "    location = /robots.txt { access_log off; }\n"
        f"    include {tmp_path}/www/conf/*.conf;\n}}\n"
    )
    main = read_main(str(tmp_path / "nginx.conf"))  # absent: the site still reads

    found = read_site("example.com", str(site), main)

    assert found.server_names == ("example.com", "www.example.com")
    assert (found.access_log.path, found.access_log.format) == ("/var/log/nginx/example.com.access.log", "rt_cache")
    assert found.error_log is not None and found.error_log.path == "/var/log/nginx/example.com.error.log"
    assert found.root == "/var/www/example.com/htdocs"
    assert found.ssl_certificate == "/etc/letsencrypt/live/example.com/fullchain.pem"


@pytest.mark.parametrize(
    ("clause", "path", "problem"),
    [
        ("access_log off;", None, "the access log is off"),
        ("access_log syslog:server=unix:/dev/log rt_cache;", None, "goes to syslog"),
        ("access_log /var/log/nginx/$host.log rt_cache;", None, "has variables"),
        ("access_log logs/site.log;", None, "is relative"),
        ("access_log /var/log/a.log buffer=32k flush=5s;", "/var/log/a.log", None),
        ("", "/var/log/nginx/inherited.log", None),
    ],
)
def test_what_a_site_logs_to_is_read_or_said_why_not(tmp_path, clause, path, problem):
    (tmp_path / "nginx.conf").write_text("http { access_log /var/log/nginx/inherited.log; }\n")
    site = tmp_path / "site.example"
    site.write_text(f"server {{ server_name site.example; {clause} }}\n")

    found = read_site("site.example", str(site), read_main(str(tmp_path / "nginx.conf")))

    assert found.access_log.path == path
    assert (found.access_log.problem is None) == (problem is None)
    if problem:
        assert problem in (found.access_log.problem or "")
    if path == "/var/log/a.log":
        assert found.access_log.format == "combined"  # buffer= is not a format name


def test_log_formats_come_from_the_http_block_and_its_includes(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "redis.conf").write_text("log_format rt_cache_redis '$remote_addr ' '$status';\n")
    (tmp_path / "nginx.conf").write_text(
        'http {\n log_format main escape=json \'{"s":"$status"}\';\n include conf.d/*.conf;\n'
        " log_format main 'second one ignored';\n}\n"
    )

    main = read_main(str(tmp_path / "nginx.conf"))

    assert main.formats["rt_cache_redis"].text == "$remote_addr $status"
    assert (main.formats["main"].escape, main.formats["main"].text) == ("json", '{"s":"$status"}')


def test_file_names_that_cannot_be_a_site_are_skipped_and_said(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "good.example").write_text("server { server_name good.example; }\n")
    (sites / "bad name").write_text("server { }\n")
    (sites / ".hidden").write_text("server { }\n")

    found = read_sites(str(sites), read_main(str(tmp_path / "nginx.conf")))

    assert [site.name for site in found.sites] == ["good.example"]
    assert len(found.skipped) == 1 and "bad name" in found.skipped[0]


def test_a_missing_sites_folder_is_said_with_the_setting(tmp_path):
    found = read_sites(str(tmp_path / "absent"), read_main(str(tmp_path / "nginx.conf")))

    assert found.sites == []
    assert found.problem is not None and "WPDASH_SITES_DIR" in found.problem


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder `nobody` may enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="wpdash-sites-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_folder_of_includes_it_may_not_list_is_a_problem_not_silence(public_dir):
    """WordOps includes /var/www/SITE/conf/nginx/*.conf (its ssl.conf names the certificate):
    a folder the dashboard cannot list must not look like one without includes."""
    closed = public_dir / "www" / "conf"
    closed.mkdir(parents=True)
    (closed / "ssl.conf").write_text("ssl_certificate /etc/ssl/site.pem;\n")
    closed.chmod(0o700)  # root's own, as a webroot can be
    (public_dir / "www").chmod(0o755)
    site = public_dir / "site.conf"
    site.write_text(f"server {{ include {closed}/*.conf; }}\n")
    site.chmod(0o644)

    def read_as_nobody() -> list[str]:
        reader = Reader(str(public_dir))
        reader.read(str(site))
        return reader.problems

    problems = run_as_nobody(read_as_nobody)

    assert problems == [f"{site} line 1: {closed} cannot be read by the dashboard's user."]
