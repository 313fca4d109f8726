"""Push notifications through Apprise: ntfy, Telegram, Slack, Discord, Gotify, a webhook, …

WPDASH_ALERT_URLS holds Apprise URLs, and those hold secrets (tokens, passwords, a
webhook's path). Apprise shows a URL with its secrets masked (`url(privacy=True)`);
that is the only form that leaves this module: as a target's name, in the page's
"push to … failed", in log lines. Apprise's own log lines can quote a URL in full (a
requests error names the path, a Telegram bot token included), so they never reach the
application's log (settings.LOGGING) and are captured per message here instead, with
every part of the URL its privacy form hides taken out before anyone sees them.

Apprise gives each service a connect and a read timeout of its own (4 s by default,
`?cto=`/`?rto=` in the URL), so a send never hangs the sender.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from server_monitor.errors import Unavailable

if TYPE_CHECKING:
    import apprise

MASK = "****"
_WORD_RE = re.compile(r"[^/:@?&=#,;+.\s]+")


class PushFailed(Unavailable):
    """The push service did not take the message."""


@dataclass(frozen=True)
class Target:
    shown: str  # the URL as Apprise shows it in privacy mode: safe for logs and the page
    secrets: tuple[str, ...]  # the parts of the URL that privacy mode hides
    _url: str  # the URL itself: only ever given to Apprise

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def _apprise() -> type[apprise.Apprise]:
    import apprise  # late: Apprise and its plugins cost memory only where push is configured

    return apprise.Apprise


def split_urls(text: str) -> list[str]:
    """Apprise's own splitting of a list of URLs (commas and spaces between them)."""
    from apprise.utils.parse import parse_urls

    return [url for url in parse_urls(text) if url]


def targets(text: str | None = None) -> list[Target]:
    """The configured push targets; a URL Apprise does not understand raises ValueError
    naming its position and scheme only (the rest of it may be a secret)."""
    found: list[Target] = []
    urls = split_urls(settings.WPDASH_ALERT_URLS if text is None else text)
    for index, url in enumerate(urls, 1):
        service = _apprise().instantiate(url)
        if service is None:
            scheme = url.split("://", 1)[0] if "://" in url else "(none)"
            raise ValueError(f"WPDASH_ALERT_URLS: URL {index} (scheme {scheme[:20]!r}) is not an Apprise URL.")
        shown = _shown(service.url(privacy=True))
        if any(target.shown == shown for target in found):
            shown = f"{shown} (URL {index})"
        visible = set(_WORD_RE.findall(shown))
        secrets = sorted({word for word in _WORD_RE.findall(url) if word not in visible and len(word) >= 3}, key=len)
        found.append(Target(shown, tuple(reversed(secrets)), url))
    return found


def _shown(private: str) -> str:
    """Apprise's privacy form cut to scheme and host: it still shows a path (a webhook's,
    an ntfy topic), which can be as secret as a token; the query holds only defaults, or
    a header's value."""
    scheme, _, rest = private.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}{'/…' if slash and path.strip('/') else ''}"


def send(target: Target, title: str, body: str, failure: bool) -> None:
    """Push one message to one target; PushFailed with Apprise's reason, secrets taken out."""
    import apprise

    sender = apprise.Apprise()
    sender.add(target._url)
    kind = apprise.NotifyType.FAILURE if failure else apprise.NotifyType.SUCCESS
    with apprise.LogCapture(level=logging.WARNING) as captured:
        accepted = sender.notify(title=title, body=body, notify_type=kind)
        said = captured.getvalue()
    if not accepted:
        reason = " ".join(line.split(" - ", 2)[-1] for line in said.strip().splitlines()[-2:]) or "not accepted"
        raise PushFailed(target.redact(reason)[:500])
