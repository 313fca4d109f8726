"""Push notifications through Apprise: ntfy, Telegram, Slack, Discord, Gotify, a webhook, …

Apprise runs in a short-lived child process (`push.child`), one per message: it and its
hundred plugins cost a process about 12 MiB that a watcher idle all day would otherwise
keep, and its own log lines, which can quote a URL in full (a requests error names the
path, a Telegram bot token included), stay in that child. The URLs go to the child on
its stdin, never on a command line other users could read.

WPDASH_ALERT_URLS holds Apprise URLs, and those hold secrets (tokens, passwords, a
webhook's path). A target is shown as Apprise's privacy form of its URL cut to scheme
and host (`tgram://1...l/…`): that is the only form that leaves this package (as a
message's target, on the page, in log lines), and a failure's reason has every part of
the URL that this form hides taken out. Apprise gives each service a connect and a read
timeout of its own (4 s by default, `?cto=`/`?rto=`), and the child has a deadline too.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from server_monitor.adapters.process import run
from server_monitor.errors import Unavailable

MASK = "****"
TIMEOUT = 60.0  # seconds for one child: Python and Apprise start in well under one, a send takes a few


class PushFailed(Unavailable):
    """The push service did not take the message."""


@dataclass(frozen=True)
class Target:
    shown: str  # safe for logs, the page and the database
    secrets: tuple[str, ...]  # the parts of the URL the shown form hides
    _url: str  # the URL itself: only ever given to Apprise

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def _child(request: dict[str, Any]) -> dict[str, Any]:
    argv = [sys.executable, "-m", "server_monitor.adapters.push.child"]
    try:
        result = run(argv, timeout=TIMEOUT, input=json.dumps(request).encode())
    except OSError as error:
        raise PushFailed(f"Apprise cannot be started: {error.strerror}") from None
    if result.timed_out:
        raise PushFailed(f"Apprise did not finish within {TIMEOUT:g} s")
    try:
        answer: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise PushFailed(f"Apprise failed (exit {result.exit_code})") from None  # its stderr may quote a URL
    return answer


def targets(text: str | None = None) -> list[Target]:
    """The configured push targets; a URL Apprise does not understand raises ValueError
    naming its position and scheme only (the rest of it may be a secret)."""
    urls = settings.WPDASH_ALERT_URLS if text is None else text
    if not urls.strip():
        return []
    try:
        answer = _child({"action": "describe", "urls": urls})
    except PushFailed as error:
        raise ValueError(f"WPDASH_ALERT_URLS cannot be checked: {error.detail}") from None
    if "error" in answer:
        raise ValueError(str(answer["error"]))
    return [Target(item["shown"], tuple(item["secrets"]), item["url"]) for item in answer["targets"]]


def send(target: Target, title: str, body: str, failure: bool) -> None:
    """Push one message to one target; PushFailed with Apprise's reason, secrets taken out."""
    answer = _child({"action": "send", "url": target._url, "title": title, "body": body, "failure": failure})
    if not answer.get("ok"):
        raise PushFailed(target.redact(str(answer.get("reason") or "not accepted"))[:500])
