"""Times on the page and in the admin name their zone (WPDASH_TIME_ZONE), which need
not be the reader's: "2026-11-22 04:05:41 CET", never a bare "04:05:41"."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from server_monitor.models import RestartAction

WINTER = datetime(2026, 11, 22, 3, 5, 41, tzinfo=timezone.utc)
SUMMER = datetime(2026, 7, 1, 3, 5, 41, tzinfo=timezone.utc)


@pytest.fixture
def restarted(superuser):
    def make(at: datetime) -> RestartAction:
        return RestartAction.objects.create(
            service="nginx",
            unit="nginx.service",
            command="systemctl restart -- nginx",
            requested_by=superuser,
            requested_at=at,
            status=RestartAction.Status.SUCCEEDED,
            finished_at=at,
        )

    return make


@pytest.mark.parametrize(
    ("zone", "at", "shown"),
    [
        ("UTC", WINTER, "2026-11-22 03:05:41 UTC"),
        ("Europe/Berlin", WINTER, "2026-11-22 04:05:41 CET"),
        ("Europe/Berlin", SUMMER, "2026-07-01 05:05:41 CEST"),
        ("America/Sao_Paulo", WINTER, "2026-11-22 00:05:41 -03"),  # a zone without a letter abbreviation
    ],
)
def test_the_recent_restarts_table_names_the_zone(client, superuser, restarted, settings, zone, at, shown):
    settings.TIME_ZONE = zone
    restarted(at)
    client.force_login(superuser)

    html = client.get("/fragments/restarts").content.decode()

    assert f">{shown}</time>" in html


def test_the_machine_readable_time_keeps_its_offset(client, superuser, restarted, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    restarted(WINTER)
    client.force_login(superuser)

    html = client.get("/fragments/restarts").content.decode()

    assert '<time datetime="2026-11-22T04:05:41+01:00">' in html


def test_the_admin_list_and_row_name_the_zone(client, superuser, restarted, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    row = restarted(WINTER)
    client.force_login(superuser)

    listing = client.get("/admin/server_monitor/restartaction/").content.decode()
    detail = client.get(f"/admin/server_monitor/restartaction/{row.pk}/change/").content.decode()

    assert "2026-11-22 04:05:41 CET" in listing
    assert detail.count("2026-11-22 04:05:41 CET") == 2  # requested and finished


def test_the_admin_filters_by_date_in_the_zone_on_any_database(client, superuser, restarted, settings):
    # MariaDB without its time zone tables (Debian's default) cannot group by day in a zone
    # (date_hierarchy's CONVERT_TZ): the date filter's ranges are computed in Python instead.
    settings.TIME_ZONE = "Europe/Berlin"
    row = restarted(WINTER)
    client.force_login(superuser)

    day = "requested_at__gte=2026-11-22+00:00:00%2B01:00&requested_at__lt=2026-11-23+00:00:00%2B01:00"
    that_day = client.get(f"/admin/server_monitor/restartaction/?{day}")
    alerts = client.get("/admin/server_monitor/alert/?started_at__gte=2026-11-22+00:00:00%2B01:00")

    assert that_day.status_code == 200
    assert f"/admin/server_monitor/restartaction/{row.pk}/change/" in that_day.content.decode()
    assert alerts.status_code == 200
