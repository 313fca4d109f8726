from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.management import call_command


def test_it_creates_the_first_admin_with_a_generated_password(db, monkeypatch):
    monkeypatch.delenv("WPDASH_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()

    call_command("ensure_admin", stdout=out)

    password = out.getvalue().split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    assert admin.check_password(password)


def test_it_takes_the_password_from_the_environment_and_never_prints_it(db, monkeypatch):
    monkeypatch.setenv("WPDASH_ADMIN_PASSWORD", "a-long-chosen-password")
    out = io.StringIO()

    call_command("ensure_admin", stdout=out)

    assert "a-long-chosen-password" not in out.getvalue()
    assert get_user_model().objects.get(username="admin").check_password("a-long-chosen-password")


def test_it_does_nothing_when_an_admin_exists(superuser):
    call_command("ensure_admin", stdout=io.StringIO())

    assert get_user_model().objects.filter(is_superuser=True).count() == 1
