"""The RestartAction migrations match the model, so a deploy's migrate creates what the code expects."""

from __future__ import annotations

from django.core.management import call_command


def test_the_models_need_no_new_migration(db):
    call_command("makemigrations", "server_monitor", "--check", "--dry-run", verbosity=0)


def test_the_audit_has_exactly_the_view_restart_and_approve_permissions(db):
    from django.contrib.auth.models import Permission

    codenames = set(Permission.objects.filter(content_type__model="restartaction").values_list("codename", flat=True))

    assert codenames == {"view_restartaction", "restart_service", "approve_restart"}
