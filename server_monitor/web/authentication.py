"""JWT sign-in that does not ask the database for the same user on every request.

simplejwt looks the token's user up on every request: a query, and under ASGI often a
new database connection, for an answer that rarely changes. CachedUserJWTAuthentication
keeps each user for USER_CACHE_SECONDS in this process, and each token it has checked
(its signature and claims, more than half of a warm API answer's own time). It is
exactly as strict:

- a token is checked in full (signature, expiry, type) the first time this process
  sees it; the same bytes under the same key can only check the same way again, so
  afterwards only its expiry, the one thing time changes, is checked, on every
  request, by simplejwt's own rule. A token that fails is never kept, so a forged or
  altered one is checked in full every time (simplejwt reads its key once, at start,
  and wpdash sets no JWK URL, so a kept token cannot outlive the key it was checked
  with);
- a user saved or deleted in this process (the admin, `manage.py` commands run in it,
  a password change, a permission or group change) is dropped from the cache at once,
  by signal, so deactivating someone in the dashboard's admin takes effect on their
  next request;
- a change made by another process (a second daphne, `manage.py shell`) is seen after
  at most USER_CACHE_SECONDS, the "few seconds" the performance issue allows;
- only a user that passed simplejwt's checks (found, active) is ever cached.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from server_monitor.memory_only import before_blocking

USER_CACHE_SECONDS = 5.0
MAX_CACHED_USERS = 1024  # ids come from signed tokens only; the bound is for the day that is not so
MAX_CACHED_TOKENS = 1024  # only tokens that passed are kept: each one needs a signed-in user

_users: dict[Any, tuple[float, Any]] = {}  # user id -> (expiry, user)
_tokens: dict[bytes, Token] = {}  # raw token -> the validated token (shared: callers must not modify it)
_lock = threading.Lock()
_generation = 0  # counts forget_users(): a lookup that overlapped one is not kept


class CachedUserJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        with _lock:
            kept = _tokens.get(raw_token)
        if kept is not None:
            try:
                kept.check_exp(current_time=aware_utcnow())  # what Token.verify checks of the clock
            except TokenError:
                with _lock:
                    _tokens.pop(raw_token, None)  # expired since: checked in full below, for simplejwt's refusal
            else:
                return kept
        token = super().get_validated_token(raw_token)  # raises for any token that fails
        with _lock:
            if len(_tokens) >= MAX_CACHED_TOKENS:
                _tokens.clear()
            _tokens[raw_token] = token  # even across a forget_tokens(): it passed, under the one key
        return token

    # The stub's return type is a TypeVar bound to nothing here: no override can match it.
    def get_user(self, validated_token: Token) -> AbstractBaseUser:  # type: ignore[override]
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        now = time.monotonic()
        with _lock:
            cached, generation = _users.get(user_id), _generation
        if cached is None or cached[0] <= now:
            before_blocking("the user's database row")
            user = super().get_user(validated_token)  # the query, and simplejwt's own checks
            with _lock:
                if len(_users) >= MAX_CACHED_USERS:
                    _users.clear()
                if generation == _generation:  # no change was announced while we asked
                    _users[user_id] = (now + USER_CACHE_SECONDS, user)
            return user
        cached_user: AbstractBaseUser = cached[1]
        return cached_user


def forget_users(**_: object) -> None:
    """Any change to a user, their permissions or groups: ask the database again."""
    global _generation
    with _lock:
        _users.clear()
        _generation += 1


def forget_tokens() -> None:
    """Check every token in full again (tests)."""
    with _lock:
        _tokens.clear()


def connect_signals() -> None:
    """Called once from AppConfig.ready()."""
    user_model = get_user_model()
    post_save.connect(forget_users, sender=user_model, dispatch_uid="wpdash-forget-users-save")
    post_delete.connect(forget_users, sender=user_model, dispatch_uid="wpdash-forget-users-delete")
    relations = {
        "user-permissions": user_model.user_permissions.through,
        "user-groups": user_model.groups.through,
        "group-permissions": Group.permissions.through,  # a group's permissions are its members'
    }
    for name, through in relations.items():
        m2m_changed.connect(forget_users, sender=through, dispatch_uid=f"wpdash-forget-{name}")


class CachedUserJWTScheme(SimpleJWTScheme):
    """The schema's bearer scheme is simplejwt's: the cache changes nothing a client sees."""

    target_class = "server_monitor.web.authentication.CachedUserJWTAuthentication"
