"""The kinds of caller the auth matrices try on every route: the signed-in roles and
the nobodies (no credentials, an inactive account, three flawed JWTs)."""

from __future__ import annotations

from datetime import timedelta

from server_monitor.web.authentication import AccountRefreshToken

SIGNED_IN = ("viewer", "operator", "approver", "superuser")
NOBODY = ("anonymous", "inactive", "expired_jwt", "tampered_jwt", "refresh_as_access")
IDENTITIES = NOBODY + SIGNED_IN


def bad_tokens(user) -> dict[str, str]:
    """Tokens made as sign-in makes them (the account claim included): only their flaw refuses them."""
    expired = AccountRefreshToken.for_user(user).access_token
    expired.set_exp(lifetime=-timedelta(minutes=1))
    good = str(AccountRefreshToken.for_user(user).access_token)
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    return {
        "expired_jwt": str(expired),
        "tampered_jwt": tampered,
        "refresh_as_access": str(AccountRefreshToken.for_user(user)),
    }
