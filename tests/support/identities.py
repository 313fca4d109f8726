"""The kinds of caller the auth matrices try on every route: the signed-in roles and
the nobodies (no credentials, an inactive account, three flawed JWTs)."""

from __future__ import annotations

from datetime import timedelta

from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

SIGNED_IN = ("viewer", "operator", "approver", "superuser")
NOBODY = ("anonymous", "inactive", "expired_jwt", "tampered_jwt", "refresh_as_access")
IDENTITIES = NOBODY + SIGNED_IN


def bad_tokens(user) -> dict[str, str]:
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(minutes=1))
    good = str(AccessToken.for_user(user))
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    return {
        "expired_jwt": str(expired),
        "tampered_jwt": tampered,
        "refresh_as_access": str(RefreshToken.for_user(user)),
    }
