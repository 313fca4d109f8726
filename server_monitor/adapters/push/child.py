"""The Apprise child of adapters.push: `python -m server_monitor.adapters.push.child`.

Reads one JSON request on stdin, writes one JSON answer on stdout, and exits:

    {"action": "describe", "urls": "URL, URL"} -> {"targets": [{"url", "shown", "secrets"}]} | {"error"}
    {"action": "send", "url", "title", "body", "failure"} -> {"ok": true} | {"ok": false, "reason"}

No Django here: only Apprise and the standard library. Apprise's log lines are captured
(WARNING and worse) for the reason of a failure, and never printed.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import apprise
from apprise.utils.parse import parse_urls

_WORD_RE = re.compile(r"[^/:@?&=#,;+.\s]+")


def shown(private: str) -> str:
    """Apprise's privacy form cut to scheme and host: it still shows a path (a webhook's,
    an ntfy topic), which can be as secret as a token; the query holds only defaults, or
    a header's value."""
    scheme, _, rest = private.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}{'/…' if slash and path.split('?', 1)[0].strip('/') else ''}"


def describe(urls: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []
    for index, url in enumerate((url for url in parse_urls(urls) if url), 1):
        service = apprise.Apprise.instantiate(url)
        if service is None:
            scheme = url.split("://", 1)[0] if "://" in url else "(none)"
            return {"error": f"WPDASH_ALERT_URLS: URL {index} (scheme {scheme[:20]!r}) is not an Apprise URL."}
        name = shown(service.url(privacy=True))
        if any(target["shown"] == name for target in found):
            name = f"{name} (URL {index})"
        visible = set(_WORD_RE.findall(name))
        hidden = {word for word in _WORD_RE.findall(url) if word not in visible and len(word) >= 3}
        found.append({"url": url, "shown": name, "secrets": sorted(hidden, key=len, reverse=True)})
    return {"targets": found}


def send(request: dict[str, Any]) -> dict[str, Any]:
    sender = apprise.Apprise()
    if not sender.add(request["url"]):
        return {"ok": False, "reason": "not an Apprise URL"}
    kind = apprise.NotifyType.FAILURE if request.get("failure") else apprise.NotifyType.SUCCESS
    with apprise.LogCapture(level=logging.WARNING) as captured:
        accepted = sender.notify(title=request["title"], body=request["body"], notify_type=kind)
        said = captured.getvalue()
    if accepted:
        return {"ok": True}
    reason = " ".join(line.split(" - ", 2)[-1] for line in said.strip().splitlines()[-2:])
    return {"ok": False, "reason": reason or "not accepted"}


def main() -> None:
    logging.getLogger("apprise").propagate = False  # nothing on stderr: the captured lines only
    request = json.loads(sys.stdin.read())
    answer = describe(request["urls"]) if request["action"] == "describe" else send(request)
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
