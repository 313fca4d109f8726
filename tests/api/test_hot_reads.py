"""The short path for hot reads (wpdash.hot_reads) answers exactly as Django would, or not at all.

Each request goes through the real ASGI stack twice: once through HotReads in front of
Django, once through Django alone. A request the short path takes must get the same
status, headers and body as Django's; every other request must reach Django untouched
(counted), so its answer is Django's by construction. The callers are the auth
matrices' (tests/support/identities.py): the short path never admits anyone Django
would not. Metrics and services, warm, are answered in the event loop without a hop
to a request thread (counted); the first wait sends them to one.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from server_monitor import memory_only
from server_monitor.adapters import systemd
from server_monitor.adapters.metrics import netdata as netdata_module
from server_monitor.adapters.metrics.cache import SingleFlightCache
from server_monitor.adapters.metrics.sampler import LocalSampler
from server_monitor.web import authentication, health
from server_monitor.web.authentication import AccountRefreshToken
from server_monitor.workflows import metrics
from tests.support.fake_netdata import http_server, recorded_netdata_with_root_disk
from tests.support.identities import bad_tokens
from tests.support.users import user_with
from wpdash import hot_reads
from wpdash.handler import ASGIHandler
from wpdash.hot_reads import HotReads

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/server"
HOT = [
    "/healthz",
    f"{API}/services",
    f"{API}/services/",
    f"{API}/logs/access?lines=500",
    f"{API}/logs/access/?lines=1",
    f"{API}/logs/access",
    f"{API}/logs/journal:nginx",  # no journal on this machine: 200, with available false
    f"{API}/metrics?range=1h",
    f"{API}/metrics/",
]
# Each of these goes to Django, signed in as the viewer: its answer is DRF's to give.
TO_DJANGO = [
    f"{API}/logs/access?lines=0",
    f"{API}/logs/access?lines=501",
    f"{API}/logs/access?lines=050",
    f"{API}/logs/access?lines=5.0",
    f"{API}/logs/access?lines=",
    f"{API}/logs/access?lines=abc",
    f"{API}/logs/access?lines=5&lines=6",
    f"{API}/logs/access?q=GET",
    f"{API}/logs/access?format=json",
    f"{API}/logs/nope",
    f"{API}/logs/..%2F..%2Fetc%2Fpasswd",
    f"{API}/logs/journal:postfix",  # a journal, but its service is not allowlisted here
    f"{API}/metrics?range=2h",
    f"{API}/metrics?range=5m&range=1h",
    f"{API}/services/nginx",
    f"{API}/restarts",
    "/healthz?x=1",
]


class CountingDjango(ASGIHandler):
    """wpdash's Django handler, counting the requests that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        await super().__call__(scope, receive, send)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


async def ask(app, path: str, headers: list[tuple[bytes, bytes]] = (), method: str = "GET", **scope) -> Answer:
    target, _, query = path.partition("?")
    communicator = ApplicationCommunicator(
        app,
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(target),
            "raw_path": target.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
            **scope,
        },
    )
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    names = sorted((name.decode().lower(), value.decode()) for name, value in start["headers"])
    return Answer(start["status"], names, body)


def assert_same(django: Answer, short: Answer) -> None:
    """Equal, but for a log's `timestamp` (whole seconds of reading): the two reads may
    fall on either side of a second."""
    assert (short.status, short.headers) == (django.status, django.headers)
    if short.body != django.body and b'"timestamp":' in short.body:
        a, b = json.loads(short.body), json.loads(django.body)
        assert abs(a.pop("timestamp") - b.pop("timestamp")) <= 1
        assert a == b
    else:
        assert short.body == django.body


@pytest.fixture
def stack(tmp_path, settings, fake_systemd, monkeypatch):
    """The short path in front of a counting Django; a log, the stand-in systemctl and
    a replaying Netdata whose answers stay cached for the test."""
    log = tmp_path / "access.log"
    log.write_text("".join(f'127.0.0.1 - - "GET /{n} HTTP/1.1" 200 {n}\n' for n in range(600)))
    settings.WPDASH_LOGS = {"access": str(log)}
    settings.WPDASH_SERVICES = ["nginx", "mariadb"]
    settings.WPDASH_METRICS_SOURCE = "netdata"
    monkeypatch.setattr(netdata_module, "CACHE_SECONDS", 600.0)  # both paths see one Netdata answer
    metrics.reset()
    with http_server(recorded_netdata_with_root_disk) as url:
        settings.NETDATA_URL = url
        django = CountingDjango()
        yield HotReads(django), django
    metrics.reset()


@database_sync_to_async
def viewer_token() -> str:
    return str(AccountRefreshToken.for_user(user_with("hot-viewer")).access_token)


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


@pytest.mark.parametrize("path", HOT)
async def test_a_hot_read_is_answered_by_the_short_path_as_django_answers_it(stack, path):
    hot, django = stack
    headers = [] if path == "/healthz" else bearer(await viewer_token())
    short = await ask(hot, path, headers)
    assert django.calls == 0, "the short path passed it on"
    assert short.status == 200, short.body[:300]
    assert_same(await ask(django, path, headers), short)


@pytest.mark.parametrize("path", TO_DJANGO)
async def test_a_request_it_is_not_sure_of_goes_to_django(stack, path):
    hot, django = stack
    headers = bearer(await viewer_token())
    answer = await ask(hot, path, headers)
    assert django.calls == 1
    assert answer.status != 500, answer.body[:300]


@database_sync_to_async
def nobodies() -> dict[str, list[tuple[bytes, bytes]]]:
    user = user_with("hot-nobody")
    inactive = user_with("hot-inactive", is_active=False)
    client = Client()
    client.force_login(user)
    return {
        "no credentials": [],
        "inactive user's token": bearer(str(AccountRefreshToken.for_user(inactive).access_token)),
        "malformed header": [(b"authorization", b"Bearer")],
        "basic auth": [(b"authorization", b"Basic aG90OnNlY3JldA==")],
        "session cookie": [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())],
        **{name: bearer(token) for name, token in bad_tokens(user).items()},
    }


@pytest.mark.parametrize("path", HOT[1:])
async def test_no_valid_token_no_short_path(stack, path):
    hot, django = stack
    callers = await nobodies()
    for number, (caller, headers) in enumerate(callers.items(), start=1):
        answer = await ask(hot, path, headers)
        assert django.calls == number, caller
        expected = 200 if caller == "session cookie" else 401
        assert answer.status == expected, (caller, answer.body[:200])


@pytest.mark.parametrize(
    ("case", "headers", "method"),
    [
        ("HEAD", [], "HEAD"),
        ("POST", [], "POST"),
        ("a body", [(b"content-length", b"5")], "GET"),
        ("HTML wanted", [(b"accept", b"text/html")], "GET"),
        ("indented JSON wanted", [(b"accept", b"application/json; indent=4")], "GET"),
        ("another host", [(b"host", b"evil.example")], "GET"),
    ],
)
async def test_anything_but_a_plain_get_goes_to_django(stack, case, headers, method):
    hot, django = stack
    path = f"{API}/logs/access?lines=5"
    await ask(hot, path, [*bearer(await viewer_token()), *headers], method=method)
    assert django.calls == 1, case


async def test_a_database_error_on_healthz_is_djangos_503(stack, monkeypatch):
    from django.db.backends.utils import CursorWrapper
    from django.db.utils import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("database is locked")

    hot, django = stack
    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    answer = await ask(hot, "/healthz")
    assert (django.calls, answer.status) == (1, 503)


async def test_netdata_down_is_djangos_503(stack, settings):
    hot, django = stack
    metrics.reset()
    settings.NETDATA_URL = "http://127.0.0.1:9"  # discard port: refused at once
    answer = await ask(hot, f"{API}/metrics", bearer(await viewer_token()))
    assert (django.calls, answer.status) == (1, 503), answer.body[:300]


async def test_where_https_is_required_plain_http_goes_to_django_and_https_gets_hsts(stack, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    django = CountingDjango()  # middleware reads settings when it is made
    hot = HotReads(django)
    headers = bearer(await viewer_token())
    plain = await ask(hot, f"{API}/services", headers)
    assert (django.calls, plain.status) == (1, 301)
    secure = await ask(hot, f"{API}/services", headers, scheme="https")
    assert django.calls == 1, "an https request is the short path's"
    assert ("strict-transport-security", "max-age=3600") in secure.headers
    assert_same(await ask(django, f"{API}/services", headers, scheme="https"), secure)


async def test_a_middleware_it_does_not_know_turns_it_off(stack, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    _, counting = stack
    hot = HotReads(counting)
    await ask(hot, "/healthz")
    assert counting.calls == 1


# --- answers made from memory, in the event loop (server_monitor.memory_only) ---------


class CountingThreads(ThreadPoolExecutor):
    """The request threads, counting the hops to them."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="test-request")
        self.hops = 0

    def submit(self, fn, /, *args, **kwargs):
        self.hops += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def threads(monkeypatch):
    counting = CountingThreads()
    monkeypatch.setattr(hot_reads, "REQUEST_THREADS", counting)
    yield counting
    counting.shutdown()


async def hops_for(hot, threads, path: str, headers) -> tuple[int, Answer]:
    before = threads.hops
    answer = await ask(hot, path, headers)
    return threads.hops - before, answer


FROM_MEMORY = [
    f"{API}/metrics?range=5m",
    f"{API}/metrics?range=1h",
    f"{API}/metrics?range=24h",
    f"{API}/services",
    "/healthz",
]


@pytest.mark.parametrize("path", FROM_MEMORY)
async def test_a_warm_read_is_answered_in_the_event_loop_as_django_answers_it(stack, threads, path):
    hot, django = stack
    headers = [] if path == "/healthz" else bearer(await viewer_token())
    first_hops, first = await hops_for(hot, threads, path, headers)  # fetches, looks the user up
    again_hops, again = await hops_for(hot, threads, path, headers)
    assert (first.status, first_hops) == (200, 1), first.body[:300]
    assert (again.status, again_hops, django.calls) == (200, 0, 0), again.body[:300]
    assert_same(await ask(django, path, headers), again)


async def test_a_log_is_always_read_in_a_thread(stack, threads):
    hot, _ = stack
    headers = bearer(await viewer_token())
    for _ in range(2):
        hops, answer = await hops_for(hot, threads, f"{API}/logs/access?lines=5", headers)
        assert (answer.status, hops) == (200, 1)


async def test_a_flood_of_healthz_costs_one_query_and_a_failing_database_shows_when_the_verdict_ends(
    stack, threads, monkeypatch
):
    from django.db.backends.utils import CursorWrapper
    from django.db.utils import OperationalError

    hot, django = stack
    monkeypatch.setattr(health, "VERDICT_SECONDS", 600.0)
    answers = [await hops_for(hot, threads, "/healthz", []) for _ in range(50)]
    assert [answer.status for _, answer in answers] == [200] * 50
    assert sum(hops for hops, _ in answers) == 1, "one check in a thread, then the kept verdict"

    def refuse(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    assert (await ask(hot, "/healthz")).status == 200, "within the verdict's lifetime"
    health.forget_verdict()  # as when VERDICT_SECONDS have passed
    assert ((await ask(hot, "/healthz")).status, django.calls) == (503, 1)


async def test_expired_charts_are_fetched_in_a_thread_once(stack, threads):
    hot, _ = stack
    headers = bearer(await viewer_token())
    path = f"{API}/metrics?range=5m"
    await ask(hot, path, headers)
    client = metrics.netdata_client()
    fetched = sum(client.fetches.values())
    client.cache.clear()
    hops, answer = await hops_for(hot, threads, path, headers)
    assert (answer.status, hops) == (200, 1)
    assert sum(client.fetches.values()) - fetched == len(netdata_module.CHARTS), "each chart once, in that thread"


async def test_an_expired_services_list_is_asked_of_systemctl_in_a_thread(stack, threads, fake_systemd):
    hot, _ = stack
    headers = bearer(await viewer_token())
    path = f"{API}/services"
    await ask(hot, path, headers)
    processes = len(fake_systemd.invocations())
    systemd.forget_statuses()
    hops, answer = await hops_for(hot, threads, path, headers)
    assert (answer.status, hops, len(fake_systemd.invocations()) - processes) == (200, 1, 1)


@database_sync_to_async
def deactivate(username: str) -> None:
    user = get_user_model().objects.get(username=username)
    user.is_active = False
    user.save()  # the signal drops the cached user


async def test_a_user_deactivated_after_a_warm_read_is_refused_at_once(stack, threads):
    hot, django = stack
    headers = bearer(await viewer_token())
    path = f"{API}/metrics"
    assert (await ask(hot, path, headers)).status == 200
    assert (await ask(hot, path, headers)).status == 200  # from memory
    await deactivate("hot-viewer")
    hops, answer = await hops_for(hot, threads, path, headers)
    assert (answer.status, hops, django.calls) == (401, 1, 1), "looked up again in a thread, refused by Django"


async def test_a_query_reached_without_a_guard_still_goes_to_a_thread(stack, threads, monkeypatch):
    """Belt and braces: Django refuses a query from the event loop; that too means a thread."""
    hot, _ = stack
    headers = bearer(await viewer_token())
    monkeypatch.setattr(authentication, "before_blocking", lambda what: None)
    authentication.forget_users()
    hops, answer = await hops_for(hot, threads, f"{API}/metrics", headers)
    assert (answer.status, hops) == (200, 1), answer.body[:300]


def test_before_blocking_refuses_only_inside_memory_only_and_only_there():
    memory_only.before_blocking("outside")  # nothing
    with memory_only.memory_only():
        with pytest.raises(memory_only.WouldBlock, match="a query"):
            memory_only.before_blocking("a query")
        with ThreadPoolExecutor(1) as other:  # another thread's context is not in the mode
            other.submit(memory_only.before_blocking, "elsewhere").result()
    memory_only.before_blocking("after")


def test_the_charts_cache_in_memory_only_mode_gives_fresh_answers_and_starts_nothing():
    cache: SingleFlightCache[str] = SingleFlightCache(ttl=60, abandon_after=60)
    started: list[object] = []
    with memory_only.memory_only(), pytest.raises(memory_only.WouldBlock):
        cache.get("chart", lambda: "fetched", started.append)
    assert started == []
    held: list = []
    cache.get("slow", lambda: "slow", held.append)  # in flight until held[0] runs
    with memory_only.memory_only(), pytest.raises(memory_only.WouldBlock):
        cache.get("slow", lambda: "slow", started.append)
    held[0]()
    assert cache.get("chart", lambda: "fetched", lambda run: run()).result() == "fetched"
    with memory_only.memory_only():
        assert cache.get("chart", lambda: "again", started.append).result() == "fetched"
        assert cache.get("slow", lambda: "again", started.append).result() == "slow"
    assert started == []


def test_a_sampler_not_started_takes_no_sample_in_memory_only_mode():
    readings: list[int] = []

    def reader():
        readings.append(1)
        raise AssertionError("sampled")

    sampler = LocalSampler(reader=reader)
    with memory_only.memory_only(), pytest.raises(memory_only.WouldBlock):
        sampler.ensure_started()
    assert readings == []
