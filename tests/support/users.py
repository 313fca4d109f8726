"""Users with roles, made the fast way (the test settings hash with MD5)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

PASSWORD = "correct horse battery staple"


def user_with(username: str, *codenames: str, **flags: bool) -> Any:
    """An active user (unless flags say otherwise) holding the server_monitor permissions named."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, password=PASSWORD, **flags)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="server_monitor"))
    return user


# --- the changes to an account that must end its access (tokens, open sockets) ---------

NEW_PASSWORD = "another horse battery staple"


def new_password(user: Any) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def deactivation(user: Any) -> None:
    user.is_active = False
    user.save()


def deletion(user: Any) -> None:
    user.delete()
