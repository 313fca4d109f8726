"""The enabled sites and the log formats, as nginx's configuration names them.

Sites: every file in the sites folder (WPDASH_SITES_DIR, default
/etc/nginx/sites-enabled: WordOps writes one file per site, named after it, as a link
into sites-available), parsed as nginx parses it there (inside `http { }`). Per file:
the server names of all its server blocks, and from its first server block that says
so, the access log and its format, the error log, the root and the certificate.

Log formats: the `log_format` directives of the `http` block of the main file
(WPDASH_NGINX_CONF, default /etc/nginx/nginx.conf) with its includes (WordOps defines
rt_cache there and rt_cache_redis in conf.d/redis.conf), plus nginx's built-in
`combined`. The http block's own access_log and error_log are what a server block
without one inherits.

What cannot be used is said in words (`problem`), never guessed: an access log that
is off, goes to syslog, or has variables in its path; a file that is not nginx's
syntax. File names that cannot be a site's name in a URL are skipped and said so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from server_monitor.adapters.nginx.config import ConfigError, Directive, Reader, blocks, in_context

SITE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
MAX_SITES = 1000
BUILT_IN_FORMAT = "combined"
# Where Debian's nginx logs when no access_log or error_log says anything (its compiled-in paths).
DEFAULT_ACCESS_LOG = "/var/log/nginx/access.log"
DEFAULT_ERROR_LOG = "/var/log/nginx/error.log"


@dataclass(frozen=True)
class FormatDefinition:
    name: str
    text: str  # the format's strings joined, as nginx joins them
    escape: str  # default, json or none
    where: str  # file and line


@dataclass(frozen=True)
class LogTarget:
    """An access_log or error_log as the configuration says it."""

    path: str | None  # None: not a file we can read (off, syslog, variables)
    format: str | None  # an access log's format name
    problem: str | None  # why there is no path, in words


@dataclass
class MainConfig:
    conf: str
    formats: dict[str, FormatDefinition] = field(default_factory=dict)
    access_log: LogTarget | None = None  # the http block's, inherited by servers without one
    error_log: LogTarget | None = None
    problem: str | None = None  # the main file cannot be read: formats other than combined are unknown
    notes: list[str] = field(default_factory=list)  # parts left out (a broken include, …)


@dataclass(frozen=True)
class SiteConfig:
    name: str
    file: str
    server_names: tuple[str, ...]
    access_log: LogTarget
    error_log: LogTarget | None
    root: str | None
    ssl_certificate: str | None
    problem: str | None  # the file cannot be read or parsed
    notes: tuple[str, ...] = ()


@dataclass
class Sites:
    sites: list[SiteConfig]
    skipped: list[str]  # files that are not sites, with why
    problem: str | None  # the folder itself cannot be read


def _access_log(directive: Directive) -> LogTarget:
    args = directive.args
    if not args:
        return LogTarget(None, None, f"{directive.where()}: access_log names no file.")
    if args[0] == "off":
        return LogTarget(None, None, f"the access log is off ({directive.where()}).")
    path, problem = _path_or_problem(args[0], directive, "access log")
    return LogTarget(path, _format_name(args), problem)


def _format_name(args: tuple[str, ...]) -> str:
    """access_log PATH [FORMAT [buffer=…] [gzip…] [flush=…] [if=…]]: the format, else combined."""
    if len(args) > 1 and "=" not in args[1] and args[1] != "gzip":
        return args[1]
    return BUILT_IN_FORMAT


def _path_or_problem(path: str, directive: Directive, what: str) -> tuple[str | None, str | None]:
    if path.startswith(("syslog:", "memory:")) or path == "stderr":
        return None, f"the {what} goes to {path.split(':')[0]}, not to a file ({directive.where()})."
    if "$" in path:
        return None, f"the {what}'s path has variables, which wpdash cannot follow ({directive.where()})."
    if not os.path.isabs(path):
        return None, f"the {what}'s path {path!r} is relative; use an absolute path ({directive.where()})."
    return os.path.normpath(path), None


def _error_log(directive: Directive) -> LogTarget:
    if not directive.args:
        return LogTarget(None, None, f"{directive.where()}: error_log names no file.")
    path, problem = _path_or_problem(directive.args[0], directive, "error log")
    return LogTarget(path, None, problem)


def read_main(conf: str) -> MainConfig:
    """The log formats and the http block's logs of the main configuration file."""
    main = MainConfig(conf)
    reader = Reader(os.path.dirname(conf))
    try:
        directives = reader.read(conf)
    except ConfigError as error:
        main.problem = error.detail
        return main
    main.notes.extend(reader.problems)
    for http in blocks(directives, "http"):
        for directive in in_context(http, "log_format"):
            definition = _format_definition(directive)
            if definition is not None:
                main.formats.setdefault(definition.name, definition)  # nginx refuses a second one
            else:
                main.notes.append(f"{directive.where()}: log_format needs a name and a format.")
        if (access := in_context(http, "access_log")) and main.access_log is None:
            main.access_log = _access_log(access[0])
        if (errors := in_context(http, "error_log")) and main.error_log is None:
            main.error_log = _error_log(errors[0])
    return main


def _format_definition(directive: Directive) -> FormatDefinition | None:
    args = list(directive.args)
    if len(args) < 2:
        return None
    name = args.pop(0)
    escape = "default"
    if args and args[0].startswith("escape="):
        escape = args.pop(0).removeprefix("escape=")
    if not args:
        return None
    return FormatDefinition(name, "".join(args), escape, directive.where())


def read_sites(folder: str, main: MainConfig) -> Sites:
    """Every site file in `folder`, sorted by name as nginx includes them."""
    try:
        names = sorted(entry for entry in os.listdir(folder) if not entry.startswith("."))
    except FileNotFoundError:
        return Sites([], [], f"{folder} does not exist (WPDASH_SITES_DIR).")
    except OSError as error:
        return Sites([], [], f"{folder} cannot be listed: {error.strerror} (WPDASH_SITES_DIR).")
    sites: list[SiteConfig] = []
    skipped: list[str] = []
    for name in names[:MAX_SITES]:
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            continue
        if not SITE_NAME_RE.fullmatch(name):
            skipped.append(f"{path}: not used as a site, its name is not a host name (letters, digits, . - _).")
            continue
        sites.append(read_site(name, path, main))
    if len(names) > MAX_SITES:
        skipped.append(f"{folder}: only the first {MAX_SITES} files are read.")
    return Sites(sites, skipped, None)


def read_site(name: str, path: str, main: MainConfig) -> SiteConfig:
    reader = Reader(os.path.dirname(main.conf))
    nothing = LogTarget(None, None, None)
    try:
        directives = reader.read(path)
    except ConfigError as error:
        return SiteConfig(name, path, (), nothing, None, None, None, error.detail)
    servers = blocks(directives, "server")
    if not servers:
        return SiteConfig(name, path, (), nothing, None, None, None, f"{path} has no server block.")
    server_names: list[str] = []
    for server in servers:
        for directive in in_context(server, "server_name"):
            server_names.extend(value for value in directive.args if value and value != '""')
    return SiteConfig(
        name=name,
        file=path,
        server_names=tuple(dict.fromkeys(server_names)),
        access_log=_site_access_log(servers, main),
        error_log=_first_error_log(servers) or main.error_log or LogTarget(DEFAULT_ERROR_LOG, None, None),
        root=_first_value(servers, "root"),
        ssl_certificate=_first_value(servers, "ssl_certificate"),
        problem=None,
        notes=tuple(reader.problems),
    )


def _site_access_log(servers: list[tuple[Directive, ...]], main: MainConfig) -> LogTarget:
    """The first access log file a server block names; else what they inherit."""
    found: LogTarget | None = None
    for server in servers:
        for directive in in_context(server, "access_log"):
            target = _access_log(directive)
            if target.path is not None:
                return target
            found = found or target
    if found is not None:
        return found  # every one of them is off, syslog or not a path we can follow
    if main.access_log is not None:
        return main.access_log
    return LogTarget(DEFAULT_ACCESS_LOG, BUILT_IN_FORMAT, None)


def _first_error_log(servers: list[tuple[Directive, ...]]) -> LogTarget | None:
    for server in servers:
        for directive in in_context(server, "error_log"):
            return _error_log(directive)
    return None


def _first_value(servers: list[tuple[Directive, ...]], name: str) -> str | None:
    """The first server-level `name VALUE;` whose value is an absolute path without variables."""
    for server in servers:
        for directive in in_context(server, name):
            if directive.args and "$" not in directive.args[0] and os.path.isabs(directive.args[0]):
                return os.path.normpath(directive.args[0])
    return None
