"""Browser tabs for the footprint benchmark: headless Chromium pages on the status
page, and what Chromium saw them do (requests, WebSocket frames, the log lines in them)."""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.common import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every tab's scripts on time, as in the foreground: without these, Chromium slows and
    # then stops the timers of tabs that are not shown, and a long soak measures idle tabs.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


@dataclass
class Traffic:
    """What Chromium saw its pages do: HTTP requests by path, WebSocket messages received."""

    requests: collections.Counter = field(default_factory=collections.Counter)
    messages: int = 0
    by_tab: collections.Counter = field(default_factory=collections.Counter)  # tab number -> messages
    lines_by_tab: collections.Counter = field(default_factory=collections.Counter)  # tab number -> log lines
    tabs: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.messages = 0
        self.by_tab.clear()
        self.lines_by_tab.clear()

    def watch(self, page: Any) -> None:
        number = self.tabs
        self.tabs += 1
        page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: self._message(number, frame)))

    def fewest_lines(self) -> int:
        """Log lines in the frames that reached the browser, for the tab that got fewest:
        what the server delivered, whether or not the page's script kept up."""
        return min(self.lines_by_tab.get(number, 0) for number in range(self.tabs)) if self.tabs else 0

    def fewest_messages(self) -> int:
        return min(self.by_tab.get(number, 0) for number in range(self.tabs)) if self.tabs else 0

    def request(self, request: Any) -> None:
        self.requests[urlsplit(request.url).path] += 1

    def _message(self, tab: int, frame: Any) -> None:
        self.messages += 1
        self.by_tab[tab] += 1
        try:
            lines = json.loads(frame).get("lines")
        except (TypeError, ValueError, AttributeError):
            return
        if isinstance(lines, list):
            self.lines_by_tab[tab] += len(lines)


def sign_in(page: Any, base: str) -> None:
    page.goto(base + "/")
    assert "/accounts/login/" in page.url, page.url
    page.get_by_label("Username").fill("bench")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def open_tab(context: Any, base: str, traffic: Traffic, first: bool) -> Any:
    """A page on / that has loaded and whose log panel follows its log."""
    page = context.new_page()
    traffic.watch(page)
    if first:
        sign_in(page, base)
    else:
        page.goto(base + "/")
    page.wait_for_load_state("load")
    page.wait_for_selector("[data-log-status]:has-text('Live')", timeout=30000)
    return page


def received_lines(page: Any) -> int | None:
    """Lines the page counted since its socket's first message (its "N lines" counter);
    None when the tab no longer shows one (it reloaded, or shows another page)."""
    from playwright.sync_api import Error as PlaywrightError

    try:  # one evaluation: the page cannot change between finding the counter and reading it
        text = page.evaluate('() => document.querySelector("[data-log-count]")?.textContent ?? null')
    except PlaywrightError as error:  # navigating, or closed
        print(f"tab at {page.url}: no line counter ({error.message.splitlines()[0]})", flush=True)
        return None
    if text is None:
        print(f"tab at {page.url}: no line counter", flush=True)
        return None
    return int(text.split()[0].replace(",", ""))
