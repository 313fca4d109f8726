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

Access ends when the account changes. Every token carries ACCOUNT_CLAIM, a keyed
digest of the user's password hash (AccountRefreshToken; simplejwt copies it to the
access tokens a refresh token makes). A token whose claim no longer matches is
refused: after a password change (or reset, or an unusable password set), and after
a deletion (a new user given the same id has another password hash). A deactivated
account is refused by simplejwt's own is_active check, wherever the claim is
checked; as with Django's sessions, reactivating it lets its unexpired tokens count
again (change the password to end them for good). The claim is checked on every
request against the cached user (so within USER_CACHE_SECONDS of a change made
elsewhere, at once for one made here) and on every refresh against the database
(`current_account`). No table, no write per sign-in: docs/architecture.md says why
not simplejwt's blacklist.
"""

from __future__ import annotations

import threading
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.crypto import constant_time_compare, salted_hmac
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import aware_utcnow

from server_monitor import caching

USER_CACHE_SECONDS = 5.0
MAX_CACHED_USERS = 1024  # ids come from signed tokens only; the bound is for the day that is not so
MAX_CACHED_TOKENS = 1024  # only tokens that passed are kept: each one needs a signed-in user

ACCOUNT_CLAIM = "account"
# Its own salt, so the digest is not Django's session auth hash of the same password.
ACCOUNT_KEY_SALT = "wpdash.authentication.account"
REVOKED = "This token was issued before the account's password or status changed: sign in again."

# user id -> (the user, its account stamp)
users_cache: caching.TTLCache[Any, tuple[AbstractBaseUser, str]] = caching.TTLCache(
    "jwt users", USER_CACHE_SECONDS, MAX_CACHED_USERS
)
# raw token -> the validated token (shared: callers must not modify it). Kept at most as long
# as any access token lives; its expiry is checked on every use all the same.
tokens_cache: caching.TTLCache[bytes, Token] = caching.TTLCache("checked tokens", 3600.0, MAX_CACHED_TOKENS)
_generation_lock = threading.Lock()
_generation = 0  # counts forget_users(): a lookup that overlapped one is not kept


def account_stamp(user: AbstractBaseUser) -> str:
    """What a token must carry to still count: a digest of the password hash.

    As Django's get_session_auth_hash: an HMAC keyed by SECRET_KEY (with its own salt,
    ACCOUNT_KEY_SALT) of the password hash, which every password change replaces. A
    token holder learns nothing of the hash from it. 128 bits, since tokens travel in
    headers and subprotocols. is_active is not in it: it is checked as such
    everywhere the claim is, and a digest of it would change back on reactivation.
    """
    return salted_hmac(ACCOUNT_KEY_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def check_account(token: Token, stamp: str) -> None:
    """Refuse a token made before the account last changed (or made without the claim)."""
    claim = token.get(ACCOUNT_CLAIM)
    if not isinstance(claim, str) or not constant_time_compare(claim, stamp):
        raise AuthenticationFailed(REVOKED, code="token_revoked")


class AccountRefreshToken(RefreshToken):
    """simplejwt's refresh token with ACCOUNT_CLAIM, which its access tokens copy."""

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> AccountRefreshToken:  # type: ignore[override]
        token = cast("AccountRefreshToken", super().for_user(user))
        token[ACCOUNT_CLAIM] = account_stamp(user)
        return token


def current_account(token: Token) -> AbstractBaseUser:
    """The token's user as the database has it now, or AuthenticationFailed (401): gone
    (simplejwt's "User not found"), inactive ("User is inactive"), or changed since the
    token was made (REVOKED). Never the cache: a refresh is rare and mints new access."""
    user: AbstractBaseUser = JWTAuthentication().get_user(token)
    check_account(token, account_stamp(user))
    return user


class CachedUserJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        kept = tokens_cache.get(raw_token)
        if kept is not None:
            try:
                kept.check_exp(current_time=aware_utcnow())  # what Token.verify checks of the clock
            except TokenError:
                tokens_cache.forget(raw_token)  # expired since: checked in full below, for simplejwt's refusal
            else:
                return kept
        token = super().get_validated_token(raw_token)  # raises for any token that fails
        return tokens_cache.set(raw_token, token)  # it passed, under the one key

    # The stub's return type is a TypeVar bound to nothing here: no override can match it.
    def get_user(self, validated_token: Token) -> AbstractBaseUser:  # type: ignore[override]
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        cached = users_cache.get(user_id)
        if cached is None:
            with _generation_lock:
                generation = _generation
            user = super().get_user(validated_token)  # the query, and simplejwt's own checks
            cached = (user, account_stamp(user))
            with _generation_lock:
                if generation == _generation:  # no change was announced while we asked
                    users_cache.set(user_id, cached)
        user, stamp = cached
        check_account(validated_token, stamp)
        return user


def forget_users(**_: object) -> None:
    """Any change to a user, their permissions or groups: ask the database again."""
    global _generation
    with _generation_lock:
        users_cache.forget()
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
