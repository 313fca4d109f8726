"""The watcher: one asyncio process (`manage.py watch`) that notices and tells.

Every WPDASH_WATCH_SECONDS it renews (or tries to take) the lease (workflows.alerts.lease).
While it holds it, it

- evaluates the rules (rules/) that are due, in threads: one `systemctl show` and one
  metrics answer per tick, shared (Facts); slow rules (apt, certificate files) in a
  thread of their own, so a slow one never delays the lease or the others;
- follows every configured log through the live tail's shared readers (live_logs) and
  opens or extends a log-pattern episode as soon as a line matches, without waiting
  for the interval; such an episode resolves after WPDASH_ALERT_LOG_QUIET_SECONDS;
- sends the queued messages in its sender thread (outbox), woken when one is queued;
- sends reminders of episodes still firing (episodes.remind).

A standby (the lease is someone else's) follows nothing and sends nothing; it only
tries to take the lease every interval. Everything that touches the database or runs
a process does it in a thread (never in the event loop), each kind in its own pool:
the lease's, the rules', the log matches'.

Another long-running job that belongs to the one acting watcher goes into LEADER_TASKS:
an async function taking the Watcher, started when this process takes the lease,
cancelled when it loses it or stops. The sites' counter (workflows.sites) is one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from server_monitor.workflows import pending
from server_monitor.workflows.alerts import episodes, lease, live_logs, outbox, rules
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.base import CRITICAL, WARNING, Rule
from server_monitor.workflows.sites.counting import SiteCounter

logger = logging.getLogger("server_monitor.alerts")

T = TypeVar("T")
TaskFactory = Callable[["Watcher"], Coroutine[Any, Any, None]]


async def count_sites(watcher: Watcher) -> None:
    """The WordPress sites' per-minute figures (workflows.sites): counted by the acting
    watcher alone, since two counters would each add the same lines. Losing the lease
    (or stopping) ends it the counter's own way: what it counted is written first."""
    counter = SiteCounter()
    counting = asyncio.ensure_future(counter.run())
    try:
        await asyncio.shield(counting)
    except asyncio.CancelledError:
        counter.stop()
        await counting
        raise


# Long-running jobs of the acting watcher beside the rules (see the module docstring).
LEADER_TASKS: list[TaskFactory] = [count_sites]
CRITICAL_PATTERNS = {"nginx-emerg", "wp-database", "php-max-children"}
LOG_RETRY = 5.0  # seconds before following a log again after its reader failed


@dataclass(frozen=True)
class Pattern:
    name: str
    text: str
    sources: tuple[str, ...]  # empty: every log
    severity: str

    def applies_to(self, source: str) -> bool:
        return not self.sources or source in self.sources


def patterns() -> list[Pattern]:
    """The log-pattern rules of WPDASH_ALERT_PATTERNS not switched off."""
    return [
        Pattern(name, text, sources, CRITICAL if name in CRITICAL_PATTERNS else WARNING)
        for name, text, sources in settings.WPDASH_ALERT_PATTERNS
        if name not in settings.WPDASH_ALERT_OFF
    ]


def _in_thread(function: Callable[..., T]) -> Callable[..., T]:
    """A unit of work of a pool thread: its database connection checked (as a request's is)."""

    def work(*args: Any) -> T:
        close_old_connections()
        try:
            return function(*args)
        finally:
            close_old_connections()

    return work


class Watcher:
    def __init__(self, interval: float | None = None, tasks: Collection[TaskFactory] | None = None) -> None:
        self.interval = float(interval or settings.WPDASH_WATCH_SECONDS)
        self.holder = lease.me()
        self.tasks = list(LEADER_TASKS if tasks is None else tasks)
        self.leading = False
        self.valid_until = 0.0  # monotonic: act only until then without a renewal
        self.marks: dict[str, list[str]] = {}  # log name -> the last lines seen (live_logs.mark_of)
        self.patterns = patterns()
        self._rules: list[Rule] = []
        self._due: dict[str, float] = {}
        self._running: set[str] = set()
        self._children: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[None]] = set()
        self._sender: outbox.Sender | None = None
        self._lease_pool = ThreadPoolExecutor(1, thread_name_prefix="wpdash-watch-lease")
        self._rule_pool = ThreadPoolExecutor(3, thread_name_prefix="wpdash-watch-rules")
        self._event_pool = ThreadPoolExecutor(1, thread_name_prefix="wpdash-watch-events")
        self._lease_trouble: str | None = None

    # --- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        logger.info("watcher %s started: every %g s", self.holder, self.interval)
        try:
            while not stop.is_set():
                started = loop.time()
                await self._hold()
                if self.acting:
                    self._tick()
                remaining = self.interval - (loop.time() - started)
                try:
                    await asyncio.wait_for(stop.wait(), max(0.0, remaining))
                except TimeoutError:
                    pass
        finally:
            was_leading = self.leading
            await self._step_down()
            if was_leading:
                try:
                    await self._call(self._lease_pool, lease.release, self.holder, dict(self.marks))
                except DatabaseError:
                    pass  # it expires by itself
            for pool in (self._rule_pool, self._event_pool, self._lease_pool):
                pool.shutdown(wait=False, cancel_futures=True)
            logger.info("watcher %s stopped", self.holder)

    @property
    def acting(self) -> bool:
        return self.leading and time.monotonic() < self.valid_until

    async def _call(self, pool: ThreadPoolExecutor, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, _in_thread(function), *args)

    async def _hold(self) -> None:
        asked = time.monotonic()
        try:
            held, previous = await self._call(
                self._lease_pool, lease.hold, self.holder, self.interval, dict(self.marks) if self.leading else None
            )
            self._lease_trouble = None
        except DatabaseError as error:
            if self._lease_trouble != str(error):
                logger.warning("the watcher cannot renew its lease now: %s", error)
            self._lease_trouble = str(error)
            held, previous = False, None
        if held:
            self.valid_until = asked + lease.ttl(self.interval).total_seconds() - self.interval
        if time.monotonic() < self.valid_until and not self.leading:
            await self._lead(previous)
        elif time.monotonic() >= self.valid_until and self.leading:
            logger.warning("watcher %s lost the lease: standing by", self.holder)
            await self._step_down()

    async def _lead(self, previous_marks: dict[str, Any] | None) -> None:
        logger.warning("watcher %s acts (it holds the lease)", self.holder)
        self.leading = True
        if previous_marks is not None:
            self.marks = {name: list(mark) for name, mark in previous_marks.items() if isinstance(mark, list)}
        self._rules = rules.build()
        self._due = {}
        self._sender = outbox.Sender(self.holder)
        episodes.on_queued(self._sender.wake.set)
        self._sender.start()
        sources = await self._call(self._rule_pool, live_logs.watched_sources) if self.patterns else []
        for source in sources:
            if any(pattern.applies_to(source.name) for pattern in self.patterns):
                self._children.append(asyncio.create_task(self._follow(source), name=f"watch {source.name}"))
        for factory in self.tasks:
            self._children.append(asyncio.create_task(factory(self), name=f"watch task {factory.__name__}"))

    async def _step_down(self) -> None:
        self.leading = False
        children, self._children = self._children, []
        for task in children:
            task.cancel()
        await asyncio.gather(*children, *self._jobs, return_exceptions=True)
        sender, self._sender = self._sender, None
        if sender is not None:
            episodes.on_queued(lambda: None)
            await asyncio.get_running_loop().run_in_executor(None, sender.stop)

    # --- rules ----------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        together = [rule for rule in self._rules if not rule.alone and self._is_due(rule, now)]
        groups = [together] + [[rule] for rule in self._rules if rule.alone and self._is_due(rule, now)]
        for group in groups:
            if group:
                self._start(" ".join(rule.name for rule in group), self._evaluate, group)
        self._start("housekeeping", self._housekeeping)

    def _is_due(self, rule: Rule, now: float) -> bool:
        if rule.name in self._running or now < self._due.get(rule.name, 0.0):
            return False
        self._due[rule.name] = now + (rule.every or self.interval) - 0.1
        return True

    def _start(self, name: str, work: Callable[..., None], *args: Any) -> None:
        if name in self._running:
            return
        self._running.add(name)
        names = set(name.split())
        self._running |= names

        async def job() -> None:
            try:
                await self._call(self._rule_pool, work, *args)
            except DatabaseError as error:
                logger.warning("%s could not be recorded now: %s", name, error)
            except Exception:
                logger.exception("%s failed", name)
            finally:
                self._running -= names | {name}

        task = asyncio.get_running_loop().create_task(job())
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    def _evaluate(self, group: list[Rule]) -> None:
        facts = Facts()
        for rule in group:
            if not self.acting:
                return
            current = episodes.firing(rule.name)
            findings = rule.evaluate(facts, set(current))
            if findings is not None and self.acting:
                episodes.reconcile(rule.name, findings, rule.clear_seconds, rule.enrich, current)

    def _housekeeping(self) -> None:
        if self.acting:
            episodes.resolve_quiet([pattern.name for pattern in self.patterns], settings.WPDASH_ALERT_LOG_QUIET_SECONDS)
            episodes.remind()
            pending.expire_overdue()  # the row says expired, and its alert resolves, even when nobody looks

    # --- logs -----------------------------------------------------------------------------

    async def _follow(self, source: live_logs.LogSource) -> None:
        mine = [pattern for pattern in self.patterns if pattern.applies_to(source.name)]
        filters = [(pattern, live_logs.matcher(pattern.text)) for pattern in mine]
        while True:
            try:
                async for lines, mark in live_logs.follow(source, self.marks.get(source.name)):
                    for pattern, match in filters:
                        matched = [line for line in lines if match.matches(line)]
                        if matched and self.acting:
                            await self._call(
                                self._event_pool,
                                episodes.log_match,
                                pattern.name,
                                pattern.severity,
                                source.name,
                                pattern.text,
                                matched,
                            )
                    self.marks[source.name] = mark  # where the next holder reads on (lease)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("following %s for the alerts failed; again in %g s", source.name, LOG_RETRY)
            await asyncio.sleep(LOG_RETRY)
