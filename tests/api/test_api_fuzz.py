"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and not, sent in-process through
Django's WSGI handler with a real JWT: no answer may be a 5xx and every answer must
be what the schema documents (status code, content type, body). systemctl is the
stand-in, metrics come from the local sampler and logs are temp files, so nothing
on this machine is touched. Examples are bounded and derandomized: the run is the
same every time and stays well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server_monitor.web.authentication import AccountRefreshToken

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
APP = WSGIHandler()


@pytest.fixture
def fuzz_environment(fake_systemd, settings, tmp_path):
    """The stand-ins every operation may reach, so no example touches the machine."""
    settings.WPDASH_METRICS_SOURCE = "local"
    access = tmp_path / "access.log"
    access.write_text("".join(f"127.0.0.1 - - line {number}\n" for number in range(80)))
    binary = tmp_path / "binary.log"
    binary.write_bytes(bytes(range(256)) * 8)
    (tmp_path / "a-folder.log").mkdir()
    # The schema (made at import) lists the default log names: each gets a fault of its own.
    settings.WPDASH_LOGS = {
        "nginx-access": str(access),
        "nginx-error": str(binary),
        "php-fpm": str(tmp_path / "gone.log"),
        "mysql": str(tmp_path / "a-folder.log"),
    }
    settings.ALLOWED_HOSTS = ["*"]  # schemathesis' WSGI transport sends Host: localhost
    # As Django's test Client does: the raw WSGI handler would otherwise close the
    # test's database connection after each request (on MariaDB, mid-transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield fake_systemd
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccountRefreshToken.for_user(user).access_token}"}


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,  # the same examples every run: a failure here is a failure everywhere
        deadline=None,  # a loaded 2-core CI box is no reason to fail
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@pytest.mark.django_db
@schema.parametrize()
@bounded(25)
def test_it_answers_every_request_of_a_superuser_as_documented_and_never_with_a_5xx(case, fuzz_environment, superuser):
    case.call_and_validate(app=APP, headers=bearer(superuser), checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@bounded(10)  # the superuser run already covers the shapes; this one is about refusals
def test_it_answers_every_request_of_a_viewer_as_documented_and_never_with_a_5xx(case, fuzz_environment, db):
    viewer = get_user_model().objects.get_or_create(username="fuzz-viewer")[0]
    case.call_and_validate(app=APP, headers=bearer(viewer), checks=CHECKS)
    assert fuzz_environment.restarts() == []


@pytest.mark.django_db
def test_a_counted_site_s_answers_are_as_documented(fuzz_environment, superuser, settings, tmp_path):
    """The fuzz above cannot guess a site's name (they come from nginx's configuration):
    a counted site's list and detail answers, checked against the schema here."""
    import time

    from server_monitor.workflows.sites import discovery, store
    from server_monitor.workflows.sites.tally import Tally
    from tests.support.sites import NginxLayout, Traffic

    NginxLayout(tmp_path / "sites", settings).add_site("example.com")
    site = discovery.rediscover().get("example.com")
    assert site is not None and site.log_format is not None
    tally = Tally(site.log_format.parser())
    for line in Traffic("example.com", "rt_cache").between(time.time() - 600, time.time(), every=2):
        tally.count(line, int(time.time()))
    store.add_counts("example.com", site.access_log or "", tally.take(), time.time(), None, [])

    for range_name in ("5m", "24h"):
        listed = schema["/api/v1/server/sites"]["GET"].Case(query={"range": range_name})
        listed.call_and_validate(app=APP, headers=bearer(superuser), checks=CHECKS)
        one = schema["/api/v1/server/sites/{name}"]["GET"].Case(
            path_parameters={"name": "example.com"}, query={"range": range_name}
        )
        response = one.call_and_validate(app=APP, headers=bearer(superuser), checks=CHECKS)
        assert response.status_code == 200 and response.json()["requests"]
