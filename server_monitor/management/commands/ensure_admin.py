"""Create the first admin when there is none, without an interactive prompt.

The password comes from WPDASH_ADMIN_PASSWORD, or is generated and printed once.
Nothing happens when a superuser already exists, so the run command can call this
on every start.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Field


class Command(BaseCommand):
    help = "Create the first admin (superuser) if none exists."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("WPDASH_ADMIN_USER", "admin"))

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin exists already; nothing to do.")
            return
        given = os.environ.get("WPDASH_ADMIN_PASSWORD", "")
        password = given or secrets.token_urlsafe(15)
        admin = users(**{users.USERNAME_FIELD: username})
        # The same rules as a name or password set in the admin: one line naming the variable, not a 500 later.
        try:
            field = users._meta.get_field(users.USERNAME_FIELD)
            if isinstance(field, Field):  # the user model's name is a plain column
                field.run_validators(username)
        except ValidationError as error:
            raise CommandError(f"WPDASH_ADMIN_USER={username!r}: {' '.join(error.messages)}") from None
        try:
            validate_password(password, admin)
        except ValidationError as error:
            raise CommandError(f"WPDASH_ADMIN_PASSWORD: {' '.join(error.messages)}") from None
        users.objects.create_superuser(username=username, email="", password=password)
        if given:
            self.stdout.write(f"Created admin {username!r} with the password from WPDASH_ADMIN_PASSWORD.")
        else:
            # Printed once, never stored in clear: change it after the first sign-in.
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin {username!r} with password: {password}\nWrite it down; it is not shown again."
                )
            )
