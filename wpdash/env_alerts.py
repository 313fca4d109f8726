"""Typed readers for the alerts' settings (wpdash/settings.py, "alerts"): the mail server's
URL, e-mail addresses, log patterns and the dashboard's public address. As every reader of
wpdash/env.py, each raises ImproperlyConfigured with one line naming the variable."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from server_monitor.names import JOURNAL_PREFIX, LOG_NAME_RE
from wpdash.env import _raw, envlist, envstr, envurl

EMAIL_SCHEMES = ("smtp", "submission", "smtps", "console", "file", "memory", "dummy")


def email_url(name: str, default: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Django's EMAIL_* settings from one URL, the dj-email-url convention: `smtp://user:pass@host:port`,
    `submission://…` (STARTTLS, port 587), `smtp://…?ssl=True` (TLS from the start). A timeout
    always: 10 s unless the URL says `?timeout=N`. The password never appears in a message."""
    import warnings

    import dj_email_url  # type: ignore[import-untyped]  # no type information, no stubs

    value = envstr(name, default, environ)
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme not in EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"{name}: unknown scheme {scheme or '(none)'!r}; use smtp://host:port, submission://user:pass@host:587 "
            "or console: (mails printed, for trying it out)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # smtps:// is deprecated in favour of submission://: both work
            parsed = dj_email_url.parse(value)
    except (ValueError, KeyError):
        raise ImproperlyConfigured(
            f"{name} ({scheme}://…) cannot be parsed: give smtp://user:pass@host:port."
        ) from None
    config = {key: parsed[key] for key in parsed if key.startswith("EMAIL_")}
    config["EMAIL_HOST_USER"] = config["EMAIL_HOST_USER"] or ""
    config["EMAIL_HOST_PASSWORD"] = config["EMAIL_HOST_PASSWORD"] or ""
    config["EMAIL_PORT"] = config["EMAIL_PORT"] or (587 if config["EMAIL_USE_TLS"] else 25)
    config["EMAIL_TIMEOUT"] = config["EMAIL_TIMEOUT"] or 10
    return config


def email_addresses(name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma list of e-mail addresses (none by default)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    addresses = envlist(name, [], environ)
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(f"{name}: {address!r} is not an e-mail address.") from None
    return list(dict.fromkeys(addresses))


ALERT_RULE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


def alert_patterns(
    name: str, default: str, reserved: Iterable[str], environ: Mapping[str, str] | None = None
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Log-pattern rules: `NAME=TEXT` (every followed log) or `NAME@SOURCE+SOURCE=TEXT` (only
    those logs, by their names in WPDASH_LOGS or journal:NAME), comma separated; `none` for
    none. TEXT is matched as the log search matches it: plain text, in any case. Returns
    (name, text, sources) triples; sources empty means every log."""
    value = envstr(name, default, environ)
    if value.lower() == "none":
        return []
    taken = set(reserved)
    patterns: list[tuple[str, str, tuple[str, ...]]] = []
    for item in value.split(","):
        if not item.strip():
            continue
        head, sep, text = item.strip().partition("=")
        rule, _, scope = head.strip().partition("@")
        sources = tuple(source for source in scope.split("+") if source) if scope else ()
        if not sep or not text.strip() or not ALERT_RULE_NAME_RE.match(rule):
            raise ImproperlyConfigured(
                f"{name}: {item.strip()!r} is not NAME=TEXT (or NAME@LOG+LOG=TEXT) with a NAME of a-z, 0-9 and -."
            )
        if rule in taken:
            raise ImproperlyConfigured(f"{name}: the rule name {rule!r} is taken; choose another.")
        if len(text.strip()) > 200 or any(c in text for c in "\x00\r\n"):
            raise ImproperlyConfigured(f"{name}: the text of {rule!r} must be one line of at most 200 characters.")
        for source in sources:
            if not (LOG_NAME_RE.match(source) or source.startswith(JOURNAL_PREFIX)):
                raise ImproperlyConfigured(f"{name}: {source!r} in {rule!r} is not a log name.")
        taken.add(rule)
        patterns.append((rule, text.strip(), sources))
    return patterns


def public_url(
    name: str, https: bool, hosts: Iterable[str], port: int, environ: Mapping[str, str] | None = None
) -> str:
    """The dashboard's address as a person opens it, for the links in alert messages. By
    default https://FIRST_HOST/ behind TLS (WPDASH_HTTPS=on, the first DJANGO_ALLOWED_HOSTS
    name that is not a wildcard), else http://127.0.0.1:WPDASH_PORT/ (bin/run's)."""
    value = _raw(name, environ)
    if value is None:
        named = [host.lstrip(".") for host in hosts if host not in {"*", ""}]
        if https and named:
            return f"https://{named[0]}"
        return f"http://127.0.0.1:{port}"
    return envurl(name, value, ["http", "https"], environ)
