"""Typed readers for environment settings.

Every reader raises ImproperlyConfigured naming the variable when its value is
wrong, so a typo in a unit file stops start-up with a message instead of running
with a silently different configuration.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import secrets
import sys
import tempfile
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from server_monitor.adapters.logs.paths import pin_links  # the standard library only: safe while settings load
from server_monitor.names import JOURNAL_PREFIX, LOG_NAME_RE, UNIT_NAME_RE  # likewise

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def envbool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use on/off, true/false, yes/no or 1/0.")


def bounds(minimum: int | None, maximum: int | None) -> str:
    """The allowed range in words: "at least 300", "at most 65535", "at least 1, at most 60"."""
    parts = [f"at least {minimum}" if minimum is not None else "", f"at most {maximum}" if maximum is not None else ""]
    return ", ".join(part for part in parts if part)


def envint(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    allowed = bounds(minimum, maximum)
    try:
        number = int(value)
    except ValueError:
        in_range = f" ({allowed})" if allowed else ""
        raise ImproperlyConfigured(f"{name}={value!r}: not a whole number{in_range}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name}={number}: {allowed}")
    return number


def envstr(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def envchoice(name: str, default: str, choices: Iterable[str], environ: Mapping[str, str] | None = None) -> str:
    allowed = tuple(choices)
    value = envstr(name, default, environ).lower()
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(allowed)}.")
    return value


def envlist(name: str, default: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def envzone(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """An IANA time zone name (Europe/Berlin), checked against the zone database."""
    value = envstr(name, default, environ)
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ImproperlyConfigured(
            f"{name}={value!r}: not a time zone of the IANA database; use a name such as UTC or Europe/Berlin."
        ) from None
    return value


# What Django compares a request's Host with (django.http.request.validate_host): a
# name, a ".domain" for it and its subdomains, "*", or an IPv6 address in brackets.
# A scheme, port or path never matches, so it is refused here rather than at every request.
ALLOWED_HOST_RE = re.compile(r"^(\*|\.?[a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])$", re.IGNORECASE)


def allowed_hosts(name: str, default: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    hosts = envlist(name, default, environ)
    for host in hosts:
        if not ALLOWED_HOST_RE.match(host):
            raise ImproperlyConfigured(
                f"{name}: {host!r} is not a host name; give names or addresses only, "
                "without scheme, port or path (dash.example.com,127.0.0.1)."
            )
    return hosts


def envaddress(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """An IPv4 or IPv6 address to listen on (0.0.0.0 and :: mean every address)."""
    value = envstr(name, default, environ)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={value!r}: not an IP address; use 127.0.0.1 (this host only) or 0.0.0.0 (every address)."
        ) from None


def envurl(name: str, default: str, schemes: Iterable[str], environ: Mapping[str, str] | None = None) -> str:
    from urllib.parse import urlsplit

    value = envstr(name, default, environ)
    allowed = tuple(schemes)
    parts = urlsplit(value)
    if parts.scheme not in allowed or not parts.netloc:
        raise ImproperlyConfigured(
            f"{name}={value!r} must be a URL starting with {' or '.join(s + '://' for s in allowed)}."
        )
    return value.rstrip("/")


def envpath(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """An absolute path, normalised; `default` (which may be "" for "none") when unset."""
    value = _raw(name, environ)
    if value is None:
        return default
    if not os.path.isabs(value):
        raise ImproperlyConfigured(f"{name}={value!r} must be an absolute path.")
    return os.path.normpath(value)


def service_allowlist(name: str, default: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The systemd units the dashboard may show and restart, validated as unit names."""
    units = envlist(name, default, environ)
    if not units:
        raise ImproperlyConfigured(f"{name} is set but names no unit.")
    for unit in units:
        if not UNIT_NAME_RE.match(unit):
            raise ImproperlyConfigured(f"{name}: {unit!r} is not a valid systemd unit name.")
    return list(dict.fromkeys(units))  # keep order, drop repeats


def unit_names(name: str, default: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma list of systemd unit names, or `none` for no unit."""
    value = _raw(name, environ)
    if value is not None and value.lower() == "none":
        return []
    units = envlist(name, default, environ)
    for unit in units:
        if not UNIT_NAME_RE.match(unit):
            raise ImproperlyConfigured(f"{name}: {unit!r} is not a valid systemd unit name (or say none).")
    return list(dict.fromkeys(units))


def log_sources(name: str, default: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`name=/absolute/path` or `name=journal:UNIT` pairs, comma separated."""
    value = _raw(name, environ)
    if value is None:
        return dict(default)
    sources: dict[str, str] = {}
    for pair in value.split(","):
        if not pair.strip():
            continue
        log_name, sep, path = pair.partition("=")
        log_name, path = log_name.strip(), path.strip()
        if not sep or not LOG_NAME_RE.match(log_name):
            raise ImproperlyConfigured(f"{name}: {pair.strip()!r} is not name=path with a name of a-z, 0-9, - and _.")
        if log_name in sources:
            raise ImproperlyConfigured(f"{name}: {log_name!r} is given twice.")
        if path.startswith(JOURNAL_PREFIX):
            unit = path[len(JOURNAL_PREFIX) :]
            if not UNIT_NAME_RE.match(unit):
                raise ImproperlyConfigured(f"{name}: {unit!r} of {log_name!r} is not a valid systemd unit name.")
            sources[log_name] = path
            continue
        if not os.path.isabs(path) or "\x00" in path:
            raise ImproperlyConfigured(
                f"{name}: the path of {log_name!r} must be absolute or journal:UNIT, got {path!r}."
            )
        # normpath keeps a leading "//" (POSIX leaves its meaning open); Linux reads it as "/".
        sources[log_name] = "/" + os.path.normpath(path).lstrip("/")
    if not sources:
        raise ImproperlyConfigured(f"{name} is set but names no log.")
    return sources


def pin_log_links(sources: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str], list[tuple[int, str]]]:
    """Each file source's path with its links resolved once, now, at start-up.

    Log files are opened without following any link (server_monitor.adapters.logs.paths),
    so a configured path that goes through one on purpose is resolved here and its
    target read from then on, when only root and this process's user could have made
    and changed the link; otherwise it stays as written and is refused when opened.
    Returns (the sources to use, {pinned path: path as configured}, what to say once
    in the log, with its logging level).
    """
    pinned: dict[str, str] = {}
    as_configured: dict[str, str] = {}
    notes: list[tuple[int, str]] = []
    for log_name, path in sources.items():
        if path.startswith(JOURNAL_PREFIX):
            pinned[log_name] = path
            continue
        pin = pin_links(path)
        pinned[log_name] = pin.path
        if pin.path != path:
            as_configured[pin.path] = path
        if (note := pin.note(log_name, path)) is not None:
            notes.append((logging.WARNING if pin.refused else logging.INFO, note))
    return pinned, as_configured, notes


def data_dir(name: str, default: Path, environ: Mapping[str, str] | None = None) -> Path:
    path = Path(envstr(name, str(default), environ)).expanduser().resolve()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise ImproperlyConfigured(f"{name}={str(path)!r} cannot be created: {error.strerror}.") from None
    return path


def secret_key(name: str, key_file: Path, environ: Mapping[str, str] | None = None) -> str:
    """DJANGO_SECRET_KEY if set, else a key generated once and kept in key_file (0600).

    The key is written to a private temporary file and hard-linked into place, so
    when several processes start at once exactly one key wins and nobody ever reads
    a half-written file.
    """
    value = _raw(name, environ)
    if value is not None:
        if len(value) < 32:
            raise ImproperlyConfigured(f"{name} is too short: use at least 32 random characters.")
        return value
    if not key_file.exists():
        fd, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, key_file)
        finally:
            os.unlink(temporary)
    key = key_file.read_text().strip()
    if len(key) < 32:
        raise ImproperlyConfigured(f"{key_file} holds no usable secret key: delete it to have one generated.")
    return key


def database(name: str, default: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Django DATABASES entry from a URL: sqlite, mysql/mariadb or postgres."""
    import dj_database_url

    url = envstr(name, default, environ)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "mariadb":
        url = "mysql" + url[len(scheme) :]
        scheme = "mysql"
    if scheme not in {"sqlite", "mysql", "postgres", "postgresql"}:
        raise ImproperlyConfigured(f"{name}: unknown scheme {scheme or url!r}; use sqlite://, mysql:// or postgres://.")
    try:
        # Kept open for a minute and checked before reuse: requests run on a fixed pool of
        # threads (wpdash.handler), each keeping its connection instead of opening one a request.
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} cannot be parsed: {error}") from None
    if scheme == "mysql":
        # utf8mb4 so any byte a user or a log puts in a row fits; READ COMMITTED is
        # Django's recommended isolation level for MySQL/MariaDB.
        config.setdefault("OPTIONS", {}).update({"charset": "utf8mb4", "isolation_level": "read committed"})
    if scheme == "sqlite":
        # A busy-timeout so concurrent writers wait instead of failing at once.
        config.setdefault("OPTIONS", {}).update({"timeout": 20})
    return config


# sysexits.h's EX_CONFIG: the configuration is wrong, starting again will not help.
EXIT_BAD_SETTING = 78


def settings_or_exit() -> None:
    """Load Django's settings now; a bad value ends the process with one line naming it.

    manage.py, wpdash/asgi.py (daphne) and wpdash/wsgi.py call this before anything
    else touches the settings, so an operator reads `WPDASH_SESSION_SECONDS=120: at
    least 300` instead of fifty lines of traceback ending in the same sentence.
    """
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (imports wpdash.settings, where every reader runs)
    except ImproperlyConfigured as error:
        sys.stderr.write(" ".join(str(error).split("\n")) + "\n")
        raise SystemExit(EXIT_BAD_SETTING) from None
