"""The kinds of failure the adapters and workflows raise: plain Python, no HTTP.

Each error carries a reason in words (`detail`) for the person who meets it. What it
becomes at the edge (an HTTP status, a WebSocket close code, a page or admin
message) is decided in one table, server_monitor.web.errors.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure; `detail` is the reason in words.

    `refusal` names the kind in a few words for the log line of a refused attempt.
    """

    refusal = "refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotSignedIn(DomainError):
    """The action needs a signed-in, active user."""

    refusal = "not signed in"


class NotPermitted(DomainError):
    """Signed in, but without the permission (or, for approval, it is their own request)."""

    refusal = "no permission"


class NotAllowed(DomainError):
    """A name that is not on an allowlist (a unit, a log): refused before anything runs."""

    refusal = "not allowlisted"


class NotFound(DomainError):
    """An allowlisted thing that is not there (a unit not installed, no such restart)."""

    refusal = "not found"


class Conflict(DomainError):
    """The thing is busy: a restart of the unit is pending or running, or not awaiting approval."""

    refusal = "conflict"

    def __init__(self, detail: str, existing_action_id: int | None = None) -> None:
        super().__init__(detail)
        self.existing_action_id = existing_action_id


class Unavailable(DomainError):
    """An outside system (systemd, Netdata, a log file) cannot answer now."""

    refusal = "unavailable"
