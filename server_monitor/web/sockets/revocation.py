"""Open sockets end when what signed them in does.

A WebSocket is signed in once, at its handshake (server_monitor.web.sockets.auth), and may stay open
for hours. So each signed-in socket is registered here with its credential, and one
check per process asks the database every CHECK_SECONDS about all of them at once:

- the user (both kinds): still there, still active;
- a token socket: the token's account claim still matches the account
  (server_monitor.web.authentication.account_stamp: same password, never deactivated);
- a cookie socket: its session still exists and has not expired, still names this
  user, and its auth hash still matches the user's password, exactly as Django
  judges the session's next request (so the session of the user who changed their
  own password, which Django keeps signed in under a new key, is closed too: its
  socket names the old key, and the page reconnects with the new one).

A socket that fails is closed with 4001, as one refused at connect. The check runs
through database_sync_to_async (never in the event loop), two queries however many
sockets are open, and only while some are. Changes made in this process do not wait
for the next round: a user saved or deleted wakes the check once the transaction
commits, and a sign-out (user_logged_out) closes that session's sockets at once. A
change made by another process (a second daphne, `manage.py changepassword`) is seen
within CHECK_SECONDS.

A token socket stays open when its access token merely expires: the token is what
opens a socket (the logs plan checks it on connect only), and the account it names
is what keeps it open. While the database cannot be asked the sockets stay open and
the next round decides.

There is one event loop per process (daphne's); a registry belongs to the loop it
was made in, so a test's new loop starts an empty one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model, user_logged_out
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from server_monitor.web.authentication import account_stamp
from server_monitor.web.sockets.auth import TOKEN_ACCOUNT

logger = logging.getLogger("server_monitor.sockets")

CHECK_SECONDS = 2.0
BATCH = 500  # values per IN (...): under the 999 variables of older SQLite builds


@dataclass(frozen=True)
class Credential:
    """What keeps one socket open: its user and, for a token socket, the token's
    account claim, for a cookie socket, its session's key."""

    user_id: str
    token_account: str | None = None
    session_key: str | None = None


class Revocable(Protocol):
    async def revoke(self) -> None:
        """Stop sending and close with 4001."""


def credential_of(scope: Mapping[str, Any]) -> Credential | None:
    """The signed-in socket's credential, or None when it has none this module can check."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    if scope.get(TOKEN_ACCOUNT):
        return Credential(str(user.pk), token_account=scope[TOKEN_ACCOUNT])
    session = scope.get("session")
    session_key = getattr(session, "session_key", None) if session is not None else None
    return Credential(str(user.pk), session_key=session_key) if session_key else None


# --- the check: one database round for every open socket ------------------------------


def chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), BATCH):
        yield ordered[start : start + BATCH]


def session_hash_holds(user: AbstractBaseUser, session_hash: object) -> bool:
    """As django.contrib.auth.get_user judges a session: the current key or a fallback key."""
    if not isinstance(session_hash, str) or not session_hash:
        return False
    return any(
        constant_time_compare(session_hash, expected)
        for expected in (user.get_session_auth_hash(), *user.get_session_auth_fallback_hash())
    )


def find_revoked(credentials: Collection[Credential]) -> dict[Credential, str]:
    """Each credential that no longer holds, with the reason (for the log). Blocking."""
    users: dict[str, AbstractBaseUser] = {}
    for ids in chunks({credential.user_id for credential in credentials}):
        for found in get_user_model().objects.filter(pk__in=ids).only("pk", "password", "is_active"):
            users[str(found.pk)] = found
    sessions: dict[str, dict[str, Any]] = {}
    session_model = import_string(settings.SESSION_ENGINE + ".SessionStore").get_model_class()
    now = timezone.now()
    for keys in chunks({credential.session_key for credential in credentials if credential.session_key}):
        for session in session_model.objects.filter(session_key__in=keys, expire_date__gt=now):
            sessions[session.session_key] = session.get_decoded()
    stamps: dict[str, str] = {}
    revoked: dict[Credential, str] = {}
    for credential in credentials:
        user = users.get(credential.user_id)
        if user is None:
            revoked[credential] = "the account was deleted"
        elif not user.is_active:
            revoked[credential] = "the account was deactivated"
        elif credential.token_account is not None:
            stamp = stamps.setdefault(credential.user_id, account_stamp(user))
            if not constant_time_compare(credential.token_account, stamp):
                revoked[credential] = "the account changed since the token was issued"
        elif credential.session_key is not None:
            data = sessions.get(credential.session_key)
            if data is None:
                revoked[credential] = "the session ended"
            elif str(data.get(SESSION_KEY)) != credential.user_id:
                revoked[credential] = "the session belongs to someone else now"
            elif not session_hash_holds(user, data.get(HASH_SESSION_KEY)):
                revoked[credential] = "the password changed"
    return revoked


# --- the registry of one event loop ------------------------------------------------------


class Registry:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sockets: dict[Revocable, Credential] = {}
        self.wake = asyncio.Event()
        self.ended_sessions: set[str] = set()
        self.task: asyncio.Task[None] | None = None

    def watch(self, socket: Revocable, credential: Credential) -> None:
        self.sockets[socket] = credential
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self.run(), name="wpdash socket revocation")

    def forget(self, socket: Revocable) -> None:
        if self.sockets.pop(socket, None) is not None and not self.sockets:
            self.wake.set()  # the check ends rather than ask about nobody

    def end_session(self, session_key: str) -> None:
        self.ended_sessions.add(session_key)
        self.wake.set()

    async def run(self) -> None:
        while self.sockets:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), CHECK_SECONDS)
            self.wake.clear()
            ended, self.ended_sessions = self.ended_sessions, set()
            open_now = dict(self.sockets)
            revoked = {credential: "signed out" for credential in open_now.values() if credential.session_key in ended}
            others = set(open_now.values()) - revoked.keys()
            if others:
                try:
                    revoked.update(await database_sync_to_async(find_revoked)(others))
                except DatabaseError as error:
                    logger.warning("open sockets not checked, the database is unavailable: %s", error)
                except Exception:  # a bug must not end the checks for good: say so, try next round
                    logger.exception("open sockets not checked")
            await self.close(socket for socket, credential in open_now.items() if credential in revoked)
            for credential, reason in revoked.items():
                logger.info("closed the sockets of user %s: %s", credential.user_id, reason)

    async def close(self, sockets: Iterable[Revocable]) -> None:
        ending = [socket for socket in sockets if self.sockets.pop(socket, None) is not None]
        results = await asyncio.gather(*(socket.revoke() for socket in ending), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                logger.info("a revoked socket did not close cleanly: %r", result)


_registry: Registry | None = None


def watch(socket: Revocable, credential: Credential) -> None:
    """Keep `socket` open only while `credential` holds. Called in the event loop."""
    global _registry
    loop = asyncio.get_running_loop()
    if _registry is None or _registry.loop is not loop:
        _registry = Registry(loop)
    _registry.watch(socket, credential)


def forget(socket: Revocable) -> None:
    """The socket closed. Idempotent; called in the event loop."""
    if _registry is not None:
        _registry.forget(socket)


def open_sockets() -> int:
    """How many signed-in sockets this process watches (tests)."""
    return len(_registry.sockets) if _registry is not None else 0


# --- changes made in this process: check at once -----------------------------------------


def from_any_thread(call: Any, *args: Any) -> None:
    registry = _registry
    if registry is None or not registry.sockets:
        return
    with contextlib.suppress(RuntimeError):  # the loop has closed (a test's)
        registry.loop.call_soon_threadsafe(call, registry, *args)


def check_now() -> None:
    from_any_thread(lambda registry: registry.wake.set())


def user_changed(update_fields: Collection[str] | None = None, **_: object) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every sign-in saves last_login: nothing that ends access
    transaction.on_commit(check_now)  # a check before the commit would see the old row


def signed_out(request: HttpRequest | None = None, **_: object) -> None:
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session_key:
        from_any_thread(Registry.end_session, session_key)
    else:
        check_now()


def connect_signals() -> None:
    """Called once from AppConfig.ready()."""
    user_model = get_user_model()
    post_save.connect(user_changed, sender=user_model, dispatch_uid="wpdash-sockets-user-saved")
    post_delete.connect(user_changed, sender=user_model, dispatch_uid="wpdash-sockets-user-deleted")
    user_logged_out.connect(signed_out, dispatch_uid="wpdash-sockets-signed-out")
