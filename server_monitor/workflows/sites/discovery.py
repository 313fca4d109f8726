"""Which sites this server hosts: found in nginx's configuration, never configured.

A site is a file of WPDASH_SITES_DIR (adapters.nginx.sites). Each gets:
- its access log, with the log format nginx writes it in, compiled into a parser
  (adapters.nginx.log_format); a format that is missing, or lacks what the figures
  need, leaves the site listed with "Log format … not understood" and no figures;
- log sources for its access log, its error log and, when it is there, WordPress's
  wp-content/debug.log under its root: `{slug}-access`, `{slug}-error`, `{slug}-debug`,
  where the slug is the site's name in a-z, 0-9 and "-" (example.com → example-com).
  A name that would be too long, or taken by WPDASH_LOGS or by another site, gets a
  short digest of the site's name instead of its tail, so every name is stable and fits
  server_monitor.names.LOG_NAME_RE.

Found again at most every DISCOVERY_SECONDS in each process (a site enabled while
wpdash runs is listed, followed and counted within a minute, with no restart). The
files are parsed once per change (adapters.nginx.config).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass

from django.conf import settings

from server_monitor import caching
from server_monitor.adapters.nginx import sites as nginx_sites
from server_monitor.adapters.nginx.log_format import COMBINED, Capabilities, FormatNotUnderstood, LineParser
from server_monitor.names import LOG_NAME_RE

logger = logging.getLogger("server_monitor.sites")

DISCOVERY_SECONDS = 10.0
LOG_KINDS = ("access", "error", "debug")
_MAX_SLUG = 64 - len("-access")  # the longest kind suffix

_discovered: caching.TTLCache[tuple[str, str], Discovery] = caching.TTLCache("sites-discovery", DISCOVERY_SECONDS, 4)


@dataclass(frozen=True)
class SiteLog:
    name: str  # the log source's name
    kind: str  # access, error or debug
    path: str


@dataclass(frozen=True)
class LogFormat:
    name: str
    text: str
    escape: str

    def parser(self) -> LineParser:
        """A parser of its own for one reader (a parser remembers the last time it read)."""
        return LineParser(self.name, self.text, self.escape)


@dataclass(frozen=True)
class Site:
    name: str
    file: str
    server_names: tuple[str, ...]
    access_log: str | None
    error_log: str | None
    format_name: str | None
    log_format: LogFormat | None  # None: no figures (see problem)
    capabilities: Capabilities | None
    problem: str | None  # why there are no figures, in words
    root: str | None
    certificate: str | None
    logs: tuple[SiteLog, ...]
    notes: tuple[str, ...]

    def log(self, kind: str) -> SiteLog | None:
        return next((log for log in self.logs if log.kind == kind), None)


@dataclass(frozen=True)
class Discovery:
    sites: tuple[Site, ...]
    problem: str | None  # the sites folder cannot be read
    notes: tuple[str, ...]  # what was left out, and why

    def get(self, name: object) -> Site | None:
        return next((site for site in self.sites if site.name == name), None)

    def log_sources(self) -> list[tuple[str, str]]:
        return [(log.name, log.path) for site in self.sites for log in site.logs]


def discover() -> Discovery:
    """The sites as the configuration says now (at most DISCOVERY_SECONDS old)."""
    key = (settings.WPDASH_SITES_DIR, settings.WPDASH_NGINX_CONF)
    return _discovered.get_or_compute(key, lambda: _discover(*key))


def rediscover() -> Discovery:
    """The sites as the configuration says right now, kept for the others as discover()'s
    answer: the counter asks this way, so a site it sees is one the pages list too."""
    key = (settings.WPDASH_SITES_DIR, settings.WPDASH_NGINX_CONF)
    return _discovered.set(key, _discover(*key))


def log_sources() -> list[tuple[str, str]]:
    """(name, path) of every site's logs: the provider registered with the log sources."""
    return discover().log_sources()


def could_be_site_log(name: str) -> bool:
    """Whether `name` has the shape of a site's log source (SLUG-access, -error, -debug):
    any other name is refused without reading nginx's configuration."""
    return LOG_NAME_RE.fullmatch(name) is not None and name.endswith(tuple(f"-{kind}" for kind in LOG_KINDS))


def _discover(folder: str, conf: str) -> Discovery:
    main = nginx_sites.read_main(conf)
    found = nginx_sites.read_sites(folder, main)
    notes = [f"{conf}: {main.problem}"] if main.problem else []
    notes += main.notes + found.skipped
    taken: set[str] = set(settings.WPDASH_LOGS)
    sites = []
    for config in found.sites:
        slug = _slug(config.name, taken)
        sites.append(_site(config, main, slug))
    result = Discovery(tuple(sites), found.problem, tuple(notes))
    _say_once(result)
    return result


def _slug(name: str, taken: set[str]) -> str:
    """The site's part of its log names, unique among `taken` (which it extends)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "site"
    if len(slug) > _MAX_SLUG or any(f"{slug}-{kind}" in taken for kind in LOG_KINDS):
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        slug = f"{slug[: _MAX_SLUG - 9].rstrip('-')}-{digest}"
    taken.update(f"{slug}-{kind}" for kind in LOG_KINDS)
    assert all(LOG_NAME_RE.fullmatch(f"{slug}-{kind}") for kind in LOG_KINDS), slug
    return slug


def _site(config: nginx_sites.SiteConfig, main: nginx_sites.MainConfig, slug: str) -> Site:
    access = config.access_log
    log_format, capabilities, problem = None, None, config.problem or access.problem
    if problem is None and access.format is not None:
        log_format, problem = _format(access.format, main)
        if log_format is not None:
            capabilities = log_format.parser().capabilities
    logs: list[SiteLog] = []
    if access.path:
        logs.append(SiteLog(f"{slug}-access", "access", access.path))
    error_log = config.error_log.path if config.error_log is not None else None
    if error_log:
        logs.append(SiteLog(f"{slug}-error", "error", error_log))
    if config.root:
        debug_log = os.path.join(config.root, "wp-content", "debug.log")
        if os.path.lexists(debug_log):  # "when present"; a link there is listed, and refused when opened
            logs.append(SiteLog(f"{slug}-debug", "debug", debug_log))
    return Site(
        name=config.name,
        file=config.file,
        server_names=config.server_names,
        access_log=access.path,
        error_log=error_log,
        format_name=access.format,
        log_format=log_format,
        capabilities=capabilities,
        problem=problem,
        root=config.root,
        certificate=config.ssl_certificate,
        logs=tuple(logs),
        notes=config.notes,
    )


def _format(name: str, main: nginx_sites.MainConfig) -> tuple[LogFormat | None, str | None]:
    if name == nginx_sites.BUILT_IN_FORMAT:
        candidate = LogFormat(name, COMBINED, "default")
    elif name in main.formats:
        definition = main.formats[name]
        candidate = LogFormat(name, definition.text, definition.escape)
    elif main.problem:
        return None, f"Log format {name!r} not understood: {main.problem}"
    else:
        return None, f"Log format {name!r} not understood: {main.conf} and its includes define no log_format {name}."
    try:
        candidate.parser()
    except FormatNotUnderstood as error:
        return None, f"Log format {name!r} not understood: {error}"
    except Exception:  # a regular expression the format made that Python refuses (a bug of ours)
        logger.exception("compiling log format %s failed", name)
        return None, f"Log format {name!r} not understood."
    return candidate, None


_said: caching.TTLCache[str, bool] = caching.TTLCache("sites-notes-said", 24 * 3600, 1024)


def _say_once(discovery: Discovery) -> None:
    """Each note about the configuration is logged once a day per process, not every 10 s."""
    problems = [discovery.problem] if discovery.problem else []
    problems += list(discovery.notes) + [f"site {s.name}: {s.problem}" for s in discovery.sites if s.problem]
    for problem in problems:
        if _said.get(problem) is None:
            _said.set(problem, True)
            logger.warning("%s", problem)
