"""GET /api/v1/server/restarts: the audit log, newest first, paginated, filterable, read-only."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from server_monitor.models import RestartAction

URL = "/api/v1/server/restarts/"


def audit_row(user, service: str = "nginx", status: str = "succeeded", minutes_ago: int = 0) -> RestartAction:
    return RestartAction.objects.create(
        service=service,
        unit=f"{service}.service",
        command=f"systemctl restart -- {service}",
        requested_by=user,
        requested_at=timezone.now() - timedelta(minutes=minutes_ago),
        status=status,
    )


def test_any_signed_in_user_reads_the_log_newest_first(viewer_client, operator):
    old = audit_row(operator, minutes_ago=10)
    new = audit_row(operator, minutes_ago=1)

    response = viewer_client.get(URL)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [new.pk, old.pk]


def test_rows_written_in_the_same_instant_keep_insertion_order_reversed(viewer_client, operator):
    now = timezone.now()
    first, second = (
        RestartAction.objects.create(service="nginx", unit="n", command="-", requested_by=operator, requested_at=now)
        for _ in range(2)
    )

    assert [row["id"] for row in viewer_client.get(URL).json()["results"]] == [second.pk, first.pk]


def test_it_is_paginated(viewer_client, operator):
    for minute in range(51):
        audit_row(operator, minutes_ago=minute)

    first = viewer_client.get(URL).json()
    second = viewer_client.get(first["next"]).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (51, 50, 1)


def test_it_filters_by_service_and_status(viewer_client, operator):
    audit_row(operator, "nginx", "failed")
    wanted = audit_row(operator, "redis-server", "failed")
    audit_row(operator, "redis-server", "succeeded")

    response = viewer_client.get(URL, {"service": "redis-server", "status": "failed"})

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


def test_an_unknown_status_filter_is_a_400(viewer_client):
    assert viewer_client.get(URL, {"status": "exploded"}).status_code == 400


def test_one_row_by_id(viewer_client, operator):
    row = audit_row(operator)

    body = viewer_client.get(f"{URL}{row.pk}").json()

    assert (body["id"], body["service"], body["requested_by"], body["status"]) == (
        row.pk,
        "nginx",
        "operator",
        "succeeded",
    )


def test_an_unknown_id_is_404(viewer_client):
    assert viewer_client.get(f"{URL}424242").status_code == 404
    assert viewer_client.get(f"{URL}abc").status_code == 404


def test_nobody_edits_or_deletes_a_row_through_the_api(signed_in, superuser, operator):
    row = audit_row(operator)
    client = signed_in(superuser)

    assert client.post(URL, {"service": "nginx"}).status_code == 405
    assert client.put(f"{URL}{row.pk}", {"status": "failed"}).status_code == 405
    assert client.patch(f"{URL}{row.pk}", {"status": "failed"}).status_code == 405
    assert client.delete(f"{URL}{row.pk}").status_code == 405
    assert RestartAction.objects.get().status == "succeeded"


def test_anonymous_and_deactivated_users_see_nothing(anonymous_client, signed_in, outsider, operator):
    audit_row(operator)

    assert anonymous_client.get(URL).status_code == 401
    assert signed_in(outsider).get(URL).status_code == 401
