"""Helpers for the sites tests: an nginx configuration laid out as WordOps writes it, and
access log lines in its formats (rt_cache, rt_cache_redis, combined) with the oddities
of the captured sample (shared/fixtures/logs/wordops-rt_cache.access.log): `-` times
for cache hits and static files, comma lists of upstream times, IPv6 clients, request
lines that are not requests, and lines that are not lines of the format at all."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import LazySettings

RT_CACHE = (
    "'$remote_addr $upstream_response_time $upstream_cache_status [$time_local] '\n"
    "\t'$http_host \"$request\" $status $body_bytes_sent '\n"
    '\t\'"$http_referer" "$http_user_agent"\''
)
RT_CACHE_REDIS = RT_CACHE.replace("$upstream_cache_status", "$srcache_fetch_status")
FORMATS = ("rt_cache", "rt_cache_redis", "combined")
PATHS = ("/", "/checkout/", "/wp-login.php", "/wp-admin/admin-ajax.php", "/feed/", "/robots.txt", "/shop/")
STATIC = ("/wp-content/uploads/2026/11/photo.jpg", "/wp-content/themes/t/style.css")
MALFORMED = (
    "this is not an nginx line",
    '203.0.113.9 - - [not a time] example.com "GET / HTTP/1.1" 200 1 "-" "-"',
    "",
)


def main_conf(folder: Path, sites_dir: Path, extra: str = "") -> str:
    """nginx.conf as WordOps writes it: logging off at the http level, rt_cache here,
    rt_cache_redis in conf.d/redis.conf, and the sites included last."""
    return (
        "user www-data;\nworker_processes auto;\nevents {\n\tworker_connections 1024;\n}\n"
        "http {\n\t# Logging Settings\n\taccess_log off;\n\terror_log /var/log/nginx/error.log;\n"
        f"\tlog_format rt_cache {RT_CACHE};\n"
        f"\tinclude {folder}/conf.d/*.conf;\n\tinclude {sites_dir}/*;\n{extra}}}\n"
    )


@dataclass
class NginxLayout:
    """/etc/nginx and /var/log/nginx in a temporary folder, pointed at by the settings."""

    root: Path
    settings: LazySettings

    def __post_init__(self) -> None:
        self.conf_dir = self.root / "nginx"
        self.available = self.conf_dir / "sites-available"
        self.enabled = self.conf_dir / "sites-enabled"
        self.logs = self.root / "log" / "nginx"
        self.www = self.root / "www"
        for folder in (self.conf_dir / "conf.d", self.conf_dir / "common", self.available, self.enabled, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)  # logrotate refuses group- or world-writable folders
        self.conf = self.conf_dir / "nginx.conf"
        self.conf.write_text(main_conf(self.conf_dir, self.enabled))
        (self.conf_dir / "conf.d" / "redis.conf").write_text(
            f"# Log format Settings\nlog_format rt_cache_redis {RT_CACHE_REDIS};\n"
        )
        (self.conf_dir / "common" / "locations-wo.conf").write_text(
            "location = /robots.txt {\n    access_log off;\n    log_not_found off;\n}\n"
        )
        self.settings.WPDASH_SITES_DIR = str(self.enabled)
        self.settings.WPDASH_NGINX_CONF = str(self.conf)

    def access_log(self, name: str) -> Path:
        return self.logs / f"{name}.access.log"

    def add_site(
        self,
        name: str,
        log_format: str = "rt_cache",
        *,
        certificate: Path | None = None,
        wordpress: bool = False,
        access_log: str | None = None,
    ) -> Path:
        """Write sites-available/NAME as WordOps does, link it from sites-enabled, and
        create its (empty) access log unless it exists."""
        webroot = self.www / name
        (webroot / "htdocs" / "wp-content").mkdir(parents=True, exist_ok=True)
        (webroot / "conf" / "nginx").mkdir(parents=True, exist_ok=True)
        if certificate is not None:
            (webroot / "conf" / "nginx" / "ssl.conf").write_text(
                f"listen 443 ssl;\nssl_certificate     {certificate};\nssl_certificate_key {certificate}.key;\n"
            )
        if wordpress:
            (webroot / "htdocs" / "wp-content" / "debug.log").write_text("PHP Notice: something\n")
        log_clause = access_log if access_log is not None else f"{self.access_log(name)} {log_format}"
        if log_format == "combined" and access_log is None:
            log_clause = str(self.access_log(name))  # the default format: named by nobody
        text = (
            "\nserver {\n\n"
            f"    server_name {name}   www.{name};\n\n"
            f"    access_log {log_clause};\n"
            f"    error_log {self.logs / name}.error.log;\n\n"
            f"    root {webroot}/htdocs;\n\n"
            "    index index.php index.html index.htm;\n\n"
            "    include common/locations-wo.conf;\n"
            f"    include {webroot}/conf/nginx/*.conf;\n"
            "}\n"
        )
        available = self.available / name
        available.write_text(text)
        link = self.enabled / name
        if not link.is_symlink():
            link.symlink_to(available)
        self.access_log(name).touch(mode=0o640)
        return available


@dataclass
class Traffic:
    """Lines of one site's access log in one format, with what each one is."""

    site: str
    log_format: str
    seed: int = 1
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(f"{self.site}-{self.log_format}-{self.seed}")

    def line(self, when: float) -> str:
        r = self.random
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(when))
        client = r.choice([f"203.0.113.{r.randint(1, 60)}", f"2001:db8::{r.randint(1, 4095):x}", "198.51.100.7"])
        static = r.random() < 0.2
        path = r.choice(STATIC) if static else r.choice(PATHS)
        query = r.choice(["", "?s=shoes", "?add-to-cart=42", "?doing_wp_cron=1764930000.1"])
        status = r.choice([200] * 12 + [301, 302, 304, 403, 404, 404, 499, 500, 502, 503, 504])
        sent = 0 if status == 304 else r.randint(0, 120_000)
        request = f"GET {path}{query} HTTP/2.0"
        if r.random() < 0.02:
            request = r.choice(["\\x16\\x03\\x01\\x02\\x00\\x01\\x00", "GET /a path with spaces HTTP/1.1"])
            status, static = 400, True
        agent = r.choice(
            ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "-", "curl/7.88.1"]
        )
        if self.log_format == "combined":
            return f'{client} - - [{stamp}] "{request}" {status} {sent} "-" "{agent}"'
        cache = "-" if static else r.choice(["HIT", "HIT", "MISS", "BYPASS", "EXPIRED", "STALE", "-"])
        if self.log_format == "rt_cache_redis" and cache not in ("-", "HIT", "MISS"):
            cache = r.choice(["HIT", "MISS", "BYPASS"])
        if static or cache == "HIT":
            upstream = "-"
        elif r.random() < 0.05:
            upstream = f"{r.randint(0, 60)}.{r.randint(0, 999):03d}, {r.randint(0, 2)}.{r.randint(0, 999):03d}"
        else:
            upstream = f"{r.randint(0, 3)}.{r.randint(0, 999):03d}"
        return f'{client} {upstream} {cache} [{stamp}] {self.site} "{request}" {status} {sent} "-" "{agent}"'

    def between(self, start: float, end: float, every: float, malformed_every: int = 0) -> list[str]:
        """Lines from `start` to `end`, one per `every` seconds on average, with a line that
        is not of the format every `malformed_every` lines (0: none)."""
        made: list[str] = []
        when = start
        while when < end:
            made.append(self.line(when))
            if malformed_every and len(made) % malformed_every == 0:
                made.append(self.random.choice(MALFORMED))
            when += self.random.uniform(0, 2 * every)
        self.lines.extend(made)
        return made


def write_lines(path: Path, lines: list[str]) -> None:
    with path.open("a") as log:
        log.write("".join(f"{line}\n" for line in lines))
