"""What the rules of one tick share: each outside system is asked once per tick, not once per rule."""

from __future__ import annotations

from typing import Any

from server_monitor.adapters import systemd
from server_monitor.errors import DomainError
from server_monitor.workflows import metrics


class Facts:
    """Answers asked for during one tick, kept for that tick only. A failure is kept too
    (and raised again), so a rule that needs systemd does not ask it twice either."""

    def __init__(self) -> None:
        self._kept: dict[str, Any] = {}

    def _once(self, key: str, ask: Any) -> Any:
        if key not in self._kept:
            try:
                self._kept[key] = ask()
            except DomainError as error:
                self._kept[key] = error
        found = self._kept[key]
        if isinstance(found, DomainError):
            raise found
        return found

    def statuses(self) -> list[systemd.ServiceStatus]:
        """The installed allowlisted units, from one `systemctl show` asked now: the answer
        the pages keep a few seconds would add its age to every alert's delay."""

        def fresh() -> list[systemd.ServiceStatus]:
            systemd.forget_statuses()
            return systemd.list_statuses()

        result: list[systemd.ServiceStatus] = self._once("statuses", fresh)
        return result

    def metrics(self, range_name: str) -> dict[str, Any]:
        """The metrics answer of one window, from Netdata or the local sampler (workflows.metrics)."""
        result: dict[str, Any] = self._once(f"metrics:{range_name}", lambda: metrics.get_metrics(range_name))
        return result
