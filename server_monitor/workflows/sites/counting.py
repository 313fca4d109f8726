"""The counter: follows every site's access log and keeps its per-minute buckets.

One process counts, the acting watcher (`manage.py watch`: workflows.alerts.watcher's
count_sites, under the watcher's lease); the web processes only read what it wrote, so
two daphne workers, or two watchers, never count a line twice. `SiteCounter.run()` runs until `stop()`:

- every DISCOVERY_SECONDS it asks which sites there are (discovery.py), starts a
  follower for a site that appeared (or whose log or format changed) and stops the
  follower of one that went away;
- a follower starts following the access log at its end with the live tail's own
  rotation-proof reader (logfiles.start_following), rebuilds what came before that
  byte (rebuild.py; one rebuild at a time) and stores it, then polls the reader every
  POLL_SECONDS and adds what it counted to the buckets every FLUSH_SECONDS;
- a log that cannot be opened is tried again every RETRY_SECONDS, and the site says
  why meanwhile (SiteState.reason); the site is followed from the moment it can be read.

Nothing blocks the event loop: file reads and counting run in a small thread pool
(one call per follower at a time), the database in one thread of its own (one writer,
which SQLite prefers), each job with Django's connection hygiene around it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, close_old_connections

from server_monitor.workflows.sites import discovery, logfiles, rebuild, store
from server_monitor.workflows.sites.buckets import Counts
from server_monitor.workflows.sites.tally import Tally

logger = logging.getLogger("server_monitor.sites")

T = TypeVar("T")

POLL_SECONDS = 1.0  # a minute's bucket needs no faster: 10 logs cost 10 small reads a second
FLUSH_SECONDS = 5.0
DISCOVERY_SECONDS = 15.0  # with discovery's own 10 s: a new site is counted within half a minute
RETRY_SECONDS = 5.0
PRUNE_SECONDS = 600.0
DATABASE_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)  # seconds between tries: about 3 s in all


class SiteCounter:
    """Counts the access logs of every discovered site into SiteBucket rows until stopped."""

    def __init__(
        self,
        poll_seconds: float = POLL_SECONDS,
        flush_seconds: float = FLUSH_SECONDS,
        discovery_seconds: float = DISCOVERY_SECONDS,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.flush_seconds = flush_seconds
        self.discovery_seconds = discovery_seconds
        self._followers: dict[str, _Follower] = {}
        self._stopping: asyncio.Event | None = None
        self._files = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="wpdash-sites")
        self._database = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="wpdash-sites-db")
        self._rebuilding: asyncio.Semaphore | None = None

    # --- the component's interface -------------------------------------------------

    async def run(self) -> None:
        self._stopping = asyncio.Event()
        self._rebuilding = asyncio.Semaphore(1)
        pruned_at = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    await self._follow_what_is_discovered()
                    if time.monotonic() - pruned_at >= PRUNE_SECONDS:
                        await self.database(store.prune, time.time())
                        pruned_at = time.monotonic()
                except Exception:
                    logger.exception("sites: discovery failed; trying again")
                await self._wait(self.discovery_seconds)
        finally:
            followers = list(self._followers.values())
            self._followers.clear()
            for follower in followers:
                follower.stop()
            await asyncio.gather(*(follower.task for follower in followers), return_exceptions=True)
            self._files.shutdown(wait=False)
            self._database.shutdown(wait=True)

    def stop(self) -> None:
        """End run(): each follower writes what it counted, then closes its log."""
        if self._stopping is not None:
            self._stopping.set()

    @property
    def followed(self) -> dict[str, str]:
        """Site → the access log it is following (for tests and diagnostics)."""
        return {name: follower.path for name, follower in self._followers.items()}

    # --- inside -------------------------------------------------------------------

    async def _wait(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def in_thread(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._files, function, *args)

    async def database(self, function: Callable[..., T], *args: object) -> T:
        """Run a store function in the database thread; a database that is locked or away
        for a moment is tried again (each function is one transaction, so a retry is whole)."""

        def job() -> T:
            close_old_connections()
            try:
                return function(*args)
            finally:
                close_old_connections()

        loop = asyncio.get_running_loop()
        for wait in DATABASE_RETRIES:
            try:
                return await loop.run_in_executor(self._database, job)
            except OperationalError:
                await asyncio.sleep(wait)
        return await loop.run_in_executor(self._database, job)

    async def _follow_what_is_discovered(self) -> None:
        found = await self.in_thread(discovery.rediscover)
        wanted: dict[str, tuple[str, discovery.LogFormat]] = {
            site.name: (site.access_log, site.log_format)
            for site in found.sites
            if site.access_log is not None and site.log_format is not None
        }
        for name, follower in list(self._followers.items()):
            if wanted.get(name) != (follower.path, follower.log_format) or follower.task.done():
                del self._followers[name]
                follower.stop()
                await follower.task
                if name in wanted:
                    logger.info("sites: %s changed; following it again", name)
        for name, (path, log_format) in wanted.items():
            if name not in self._followers:
                self._followers[name] = _Follower(self, name, path, log_format)


class _Follower:
    """One site's access log: rebuild, then follow and count."""

    def __init__(self, counter: SiteCounter, site: str, path: str, log_format: discovery.LogFormat) -> None:
        self.counter = counter
        self.site = site
        self.path = path
        self.log_format = log_format
        self._stopping = asyncio.Event()
        self._cancel = threading.Event()  # for the rebuild, in its thread
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"wpdash sites {site}")

    def stop(self) -> None:
        self._stopping.set()
        self._cancel.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _run(self) -> None:
        try:
            following = await self._start()
            if following is None:
                return
            try:
                await self._follow(following)
            finally:
                await self.counter.in_thread(following.close)
        except Exception:
            logger.exception("sites: counting %s failed; it starts again at the next discovery", self.site)

    async def _start(self) -> logfiles.Following | None:
        """Follow the log from its end and rebuild what came before; None when stopped first."""
        said: str | None = None
        while not self._stopping.is_set():
            try:
                following = await self.counter.in_thread(logfiles.start_following, self.path)
            except logfiles.LogUnavailable as error:
                if error.detail != said:
                    logger.warning("sites: cannot read the access log of %s: %s", self.site, error.detail)
                    said = error.detail
                    await self.counter.database(store.note_unreadable, self.site, self.path, error.detail)
                await self._sleep(RETRY_SECONDS)
                continue
            assert self.counter._rebuilding is not None
            async with self.counter._rebuilding:
                budget: int = settings.WPDASH_SITES_REBUILD_BYTES
                parser = self.log_format.parser()
                try:
                    rebuilt = await self.counter.in_thread(
                        rebuild.rebuild, following, parser, budget, None, self._cancel
                    )
                except rebuild.Cancelled:
                    await self.counter.in_thread(following.close)
                    return None
            following.release_descriptor()
            await self.counter.database(store.store_rebuild, self.site, self.path, rebuilt, time.time())
            logger.info(
                "sites: %s rebuilt from %s bytes of its logs in %.1f s (%s)",
                self.site,
                rebuilt.bytes_read,
                rebuilt.seconds,
                rebuilt.stop,
            )
            return following
        return None

    async def _follow(self, following: logfiles.Following) -> None:
        tally = Tally(self.log_format.parser())
        reason: str | None = None
        flushed = time.monotonic()
        while True:
            stopping = self._stopping.is_set()
            more, reason = await self.counter.in_thread(self._poll, following, tally)
            if stopping or time.monotonic() - flushed >= self.counter.flush_seconds:
                await self._flush(tally, reason)
                flushed = time.monotonic()
            if stopping:
                return
            if not more:
                await self._sleep(self.counter.poll_seconds)

    @staticmethod
    def _poll(following: logfiles.Following, tally: Tally) -> tuple[bool, str | None]:
        """Read what is new and count it (in a thread)."""
        lines, more, reason = following.poll()
        now = int(time.time())
        floor = rebuild.window_start(now)
        for line in lines:
            tally.count(line, now, floor)
        return more, reason

    async def _flush(self, tally: Tally, reason: str | None) -> None:
        minutes = tally.take()
        samples = list(tally.samples)
        tally.samples.clear()
        now = time.time()
        try:
            await self.counter.database(store.add_counts, self.site, self.path, minutes, now, reason, samples)
        except Exception:
            logger.warning("sites: the counts of %s could not be written; they are kept for the next try", self.site)
            _give_back(tally, minutes)


def _give_back(tally: Tally, minutes: dict[int, Counts]) -> None:
    """Counts that could not be written go back into the tally, to be written next time."""
    for start, counts in minutes.items():
        tally.minute(start).merge(counts)
