"""JWT sign-in that does not ask the database for the same user on every request.

simplejwt looks the token's user up on every request: a query, and under ASGI often a
new database connection, for an answer that rarely changes. CachedUserJWTAuthentication
keeps each user for USER_CACHE_SECONDS in this process. It is exactly as strict:

- the token itself (signature, expiry, type) is checked on every request, uncached;
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
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from server_monitor.memory_only import before_blocking

USER_CACHE_SECONDS = 5.0
MAX_CACHED_USERS = 1024  # ids come from signed tokens only; the bound is for the day that is not so

_users: dict[Any, tuple[float, Any]] = {}  # user id -> (expiry, user)
_lock = threading.Lock()
_generation = 0  # counts forget_users(): a lookup that overlapped one is not kept


class CachedUserJWTAuthentication(JWTAuthentication):
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
